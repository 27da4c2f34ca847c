//! The `recovery_tickets` table: password-reset tokens, kept as the
//! SHA-256 digest of the token the mailed link carries (the token itself
//! is never stored), removed with their user.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Columns of `recovery_tickets`.
#[derive(DeriveIden)]
enum RecoveryTickets {
    Table,
    KeyDigest,
    UserId,
    Purpose,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RecoveryTickets::Table)
                    .if_not_exists()
                    // `text`, the type the adapter binds (see migration 4).
                    .col(text(RecoveryTickets::KeyDigest).primary_key())
                    .col(uuid(RecoveryTickets::UserId))
                    .col(text(RecoveryTickets::Purpose))
                    .col(timestamp_with_time_zone(RecoveryTickets::CreatedAt))
                    .col(timestamp_with_time_zone(RecoveryTickets::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_recovery_tickets_user_id")
                            .from(RecoveryTickets::Table, RecoveryTickets::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A user's tickets (a reset ends the others) and expired ones (the
        // sweeper) are found by index.
        manager
            .create_index(
                Index::create()
                    .name("idx_recovery_tickets_user_id")
                    .table(RecoveryTickets::Table)
                    .col(RecoveryTickets::UserId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_recovery_tickets_expires_at")
                    .table(RecoveryTickets::Table)
                    .col(RecoveryTickets::ExpiresAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RecoveryTickets::Table).to_owned())
            .await
    }
}
