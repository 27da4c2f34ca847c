//! Liveness of the servers' session caches by a sequence number, not by a
//! clock (PostgreSQL only).
//!
//! Each cache's row in `session_cache_listeners` carries `seq`, the number
//! of its latest ping. A cache counts as live while its row exists; its
//! row is removed only by a statement `DELETE ... WHERE id = $1 AND seq =
//! $2` run by a process that saw that same number at least a fence's wait
//! earlier on its own clock (so the cache has stopped answering), or by the
//! cache itself when it stops trusting its listener. No database clock
//! decides anything: `seen_at` stays, for people reading the table.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = "ALTER TABLE session_cache_listeners \
                  ADD COLUMN IF NOT EXISTS seq bigint NOT NULL DEFAULT 0";

const DOWN: &str = "ALTER TABLE session_cache_listeners DROP COLUMN IF EXISTS seq";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager.get_connection().execute_unprepared(UP).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager.get_connection().execute_unprepared(DOWN).await?;
        }
        Ok(())
    }
}
