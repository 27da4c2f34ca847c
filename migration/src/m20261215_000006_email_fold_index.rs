//! An index on the email folded to lower case, for logins and for the
//! uniqueness of new accounts' emails, which compare emails ignoring case.
//!
//! Only ASCII letters are folded, on both engines and in the domain alike:
//! on PostgreSQL `lower(email COLLATE "C")` (the `C` collation's `lower()`
//! folds ASCII only, whatever the database's locale, so the result cannot
//! change with it), on SQLite `lower(email)` (ASCII only without the ICU
//! extension). Not unique: data imported from the Flask API may hold
//! emails that differ only in case, and each keeps its account. The
//! adapter's look-ups spell exactly this expression, so the index answers
//! them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let expression = match manager.get_database_backend() {
            DatabaseBackend::Postgres => "lower(email COLLATE \"C\")",
            _ => "lower(email)",
        };
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS users_email_folded ON users ({expression})"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS users_email_folded")
            .await?;
        Ok(())
    }
}
