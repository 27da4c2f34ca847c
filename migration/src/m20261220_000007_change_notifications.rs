//! Change notifications for the servers' session caches (PostgreSQL only).
//!
//! Every statement that updates or deletes sessions or users, whoever runs
//! it (this service, another instance, the CLI, an operator in `psql`),
//! sends `NOTIFY session_auth_changes` when it commits:
//!
//! - `s<digest>` for each session updated or deleted (a touch, a logout,
//!   a revoked session, a user's sessions deleted, the sweep);
//! - `u<id>` for each user updated or deleted (names, email, password,
//!   the administrator right, a deletion);
//! - `*` when one statement changed more than 100 rows, or a table was
//!   truncated: every cache is emptied.
//!
//! Inserts send nothing: a new session or user cannot be in any cache.
//! SQLite has no notifications; its storage keeps no cache.
//!
//! `session_cache_listeners` lists the processes that keep a cache, each
//! with the last time it proved its listener alive: a process that changed
//! something waits for each of them to confirm it has heard the change
//! before answering (see `adapters/seaorm/src/cache/`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One statement-level trigger per table and event (PostgreSQL allows a
/// transition table only on a trigger for a single event), all calling one
/// function.
const UP: &str = r#"
CREATE TABLE IF NOT EXISTS session_cache_listeners (
  id uuid PRIMARY KEY,
  seen_at timestamptz NOT NULL
);

-- One function for every trigger: its arguments are the payload's prefix
-- and the column that names a changed row.
CREATE OR REPLACE FUNCTION session_auth_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify('session_auth_changes', '*');
  ELSIF (SELECT count(*) FROM changed_rows) > 100 THEN
    PERFORM pg_notify('session_auth_changes', '*');
  ELSE
    PERFORM pg_notify('session_auth_changes', TG_ARGV[0] || (to_jsonb(r) ->> TG_ARGV[1]))
      FROM changed_rows r;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER sessions_updated_notify AFTER UPDATE ON sessions
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT
  EXECUTE FUNCTION session_auth_changed('s', 'token_digest');
CREATE TRIGGER sessions_deleted_notify AFTER DELETE ON sessions
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT
  EXECUTE FUNCTION session_auth_changed('s', 'token_digest');
CREATE TRIGGER sessions_truncated_notify AFTER TRUNCATE ON sessions
  FOR EACH STATEMENT EXECUTE FUNCTION session_auth_changed();
CREATE TRIGGER users_updated_notify AFTER UPDATE ON users
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT
  EXECUTE FUNCTION session_auth_changed('u', 'id');
CREATE TRIGGER users_deleted_notify AFTER DELETE ON users
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT
  EXECUTE FUNCTION session_auth_changed('u', 'id');
CREATE TRIGGER users_truncated_notify AFTER TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION session_auth_changed();
"#;

const DOWN: &str = r#"
DROP TRIGGER IF EXISTS sessions_updated_notify ON sessions;
DROP TRIGGER IF EXISTS sessions_deleted_notify ON sessions;
DROP TRIGGER IF EXISTS sessions_truncated_notify ON sessions;
DROP TRIGGER IF EXISTS users_updated_notify ON users;
DROP TRIGGER IF EXISTS users_deleted_notify ON users;
DROP TRIGGER IF EXISTS users_truncated_notify ON users;
DROP FUNCTION IF EXISTS session_auth_changed();
DROP TABLE IF EXISTS session_cache_listeners;
"#;

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
