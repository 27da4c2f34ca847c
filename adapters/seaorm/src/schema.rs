//! Applying and checking the schema versions of the `migration` crate.

use migration::{Migrator, MigratorTrait};
use sea_orm::DbErr;

use crate::store::SqlStore;

/// Where the database's schema stands against the migrations this build
/// knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// Every known migration is applied.
    Current,
    /// These migrations are not applied yet.
    Pending(Vec<String>),
}

/// The schema could not be checked or changed.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The database has migrations this build does not know: it was
    /// migrated by a newer session-auth.
    #[error(
        "the database schema is newer than this session-auth knows ({0}); run the newer version or restore a matching database"
    )]
    TooNew(String),
    /// Migrations were not applied and automatic migration is off.
    #[error("the database schema is not up to date (pending: {}); run `session-auth migrate` or drop AUTO_MIGRATE=false", .0.join(", "))]
    Pending(Vec<String>),
    /// The database refused.
    #[error("migration failed")]
    Database(#[source] DbErr),
}

impl SqlStore {
    /// How the schema stands.
    ///
    /// # Errors
    /// [`SchemaError::TooNew`] when the database holds migrations this build
    /// does not know.
    pub async fn schema_state(&self) -> Result<SchemaState, SchemaError> {
        let migrations = Migrator::get_migration_with_status_read_only(self.connection())
            .await
            .map_err(|e| match e {
                // sea-orm-migration reports applied migrations missing from
                // this build this way.
                DbErr::Custom(message) if message.contains("is missing") => {
                    SchemaError::TooNew(message)
                }
                other => SchemaError::Database(other),
            })?;
        let pending: Vec<String> = migrations
            .iter()
            .filter(|m| m.status() == sea_orm_migration::migrator::MigrationStatus::Pending)
            .map(|m| m.name().to_owned())
            .collect();
        Ok(if pending.is_empty() {
            SchemaState::Current
        } else {
            SchemaState::Pending(pending)
        })
    }

    /// Applies every pending migration; the names applied.
    ///
    /// # Errors
    /// [`SchemaError`] when the schema is too new or a migration fails.
    pub async fn migrate_up(&self) -> Result<Vec<String>, SchemaError> {
        let SchemaState::Pending(pending) = self.schema_state().await? else {
            return Ok(Vec::new());
        };
        Migrator::up(self.connection(), None)
            .await
            .map_err(SchemaError::Database)?;
        Ok(pending)
    }

    /// Rolls back the newest `steps` migrations.
    ///
    /// # Errors
    /// [`SchemaError::Database`] when a rollback fails.
    pub async fn migrate_down(&self, steps: u32) -> Result<(), SchemaError> {
        Migrator::down(self.connection(), Some(steps))
            .await
            .map_err(SchemaError::Database)
    }
}
