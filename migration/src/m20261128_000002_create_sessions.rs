//! The `sessions` table, keyed by the SHA-256 digest of the session token
//! (the token itself is never stored), removed with its user.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Columns of `sessions`.
#[derive(DeriveIden)]
enum Sessions {
    Table,
    TokenDigest,
    Id,
    UserId,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .if_not_exists()
                    .col(char_len(Sessions::TokenDigest, 64).primary_key())
                    .col(uuid(Sessions::Id).unique_key())
                    .col(uuid(Sessions::UserId))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_user_id")
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A user's sessions (logout everywhere, cascade) and expired ones
        // (the sweeper) are found by index, not by scan.
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_user_id")
                    .table(Sessions::Table)
                    .col(Sessions::UserId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_created_at")
                    .table(Sessions::Table)
                    .col(Sessions::CreatedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Sessions::Table).to_owned())
            .await
    }
}
