//! SHA-256 digests as `text` on PostgreSQL, so that the type of the column
//! is the type the adapter binds.
//!
//! `sessions.token_digest` and `login_failures.account` were created as
//! `character(64)`. The adapter binds a digest as `text`, and PostgreSQL
//! resolves `bpchar = text` by casting the column to `text`:
//! `(token_digest)::text = $1`, which no index on `token_digest` answers. So
//! every session look-up, logout and import check was a sequential scan of
//! `sessions` (and every throttle count by account a scan of
//! `login_failures`). As `text` the primary key and the `(account, at)`
//! indexes answer those look-ups directly. A digest is always 64 hex
//! characters, so `character(64)`'s padding never changed a value: the
//! conversion keeps every row as it is.
//!
//! SQLite needs nothing: there `character(64)` is a column of TEXT
//! affinity, the same storage class as the bound text, and its indexes
//! answer `=` on it (the plan tests check both engines).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The digest columns, as `(table, column)`.
const DIGEST_COLUMNS: [(&str, &str); 2] =
    [("sessions", "token_digest"), ("login_failures", "account")];

async fn retype(manager: &SchemaManager<'_>, to: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    for (table, column) in DIGEST_COLUMNS {
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "ALTER TABLE \"{table}\" ALTER COLUMN \"{column}\" TYPE {to}"
            ))
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        retype(manager, "text").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        retype(manager, "character(64)").await
    }
}
