//! The `users` table: one row per account, email unique.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Columns of `users`.
#[derive(DeriveIden)]
pub enum Users {
    Table,
    Seq,
    Id,
    Email,
    PasswordHash,
    FirstName,
    LastName,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    // `seq` keeps creation order (GET /users lists in it,
                    // as the Flask API listed its file's order); `id` is the
                    // public identifier.
                    .col(big_pk_auto(Users::Seq))
                    .col(uuid_uniq(Users::Id))
                    // The unique constraint is the email index used by every
                    // login.
                    .col(text(Users::Email).unique_key())
                    .col(text_null(Users::PasswordHash))
                    .col(text_null(Users::FirstName))
                    .col(text_null(Users::LastName))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }
}
