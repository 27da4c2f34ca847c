//! Session activity and the failed-login log: `sessions` learns when each
//! session was last used and which client opened it (for the idle timeout
//! and for a user's list of their sessions), and `login_failures` records
//! failed password checks so that every instance on the database applies
//! one shared brute-force limit that survives restarts.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The columns of `sessions` this migration adds.
#[derive(DeriveIden)]
enum Sessions {
    Table,
    LastUsedAt,
    ClientAddress,
    UserAgent,
}

/// Columns of `login_failures`.
#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Seq,
    Account,
    Address,
    At,
}

const LAST_USED_INDEX: &str = "idx_sessions_last_used_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// PostgreSQL runs migrations in a transaction anyway; asking for one on
    /// SQLite too (which has transactional DDL) means a failure half-way
    /// leaves no column behind that a second `up` would trip over.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Nullable so that rows from before this migration need no value:
        // the adapter reads a missing `last_used_at` as the login time.
        // SQLite takes one column per ALTER TABLE, so every backend gets
        // one statement per column.
        for column in [
            timestamp_with_time_zone_null(Sessions::LastUsedAt),
            text_null(Sessions::ClientAddress),
            text_null(Sessions::UserAgent),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Sessions::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        // The sweeper removes sessions idle since before a cut-off.
        manager
            .create_index(
                Index::create()
                    .name(LAST_USED_INDEX)
                    .table(Sessions::Table)
                    .col(Sessions::LastUsedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LoginFailures::Table)
                    .col(big_pk_auto(LoginFailures::Seq))
                    // SHA-256 hex of the email as typed: the log never holds
                    // what people type into the email field.
                    .col(char_len(LoginFailures::Account, 64))
                    .col(text(LoginFailures::Address))
                    .col(timestamp_with_time_zone(LoginFailures::At))
                    .to_owned(),
            )
            .await?;
        // Every count the throttle makes filters by account, by address or
        // by both, and by time; pruning filters by time alone.
        let indexes = [
            (
                "idx_login_failures_account_at",
                vec![LoginFailures::Account, LoginFailures::At],
            ),
            (
                "idx_login_failures_address_at",
                vec![LoginFailures::Address, LoginFailures::At],
            ),
            (
                "idx_login_failures_account_address_at",
                vec![
                    LoginFailures::Account,
                    LoginFailures::Address,
                    LoginFailures::At,
                ],
            ),
            ("idx_login_failures_at", vec![LoginFailures::At]),
        ];
        for (name, columns) in indexes {
            let mut index = Index::create();
            index.name(name).table(LoginFailures::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoginFailures::Table).to_owned())
            .await?;
        // SQLite (3.35 and later) drops a column only once no index uses
        // it.
        manager
            .drop_index(
                Index::drop()
                    .name(LAST_USED_INDEX)
                    .table(Sessions::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Sessions::LastUsedAt,
            Sessions::ClientAddress,
            Sessions::UserAgent,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Sessions::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
