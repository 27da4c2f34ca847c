//! session-auth's SQL schema, one migration per version. Every migration
//! has a `down`, so `session-auth migrate --down` can step back.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_create_users;
mod m20261128_000002_create_sessions;
mod m20261128_000003_session_activity_and_login_failures;
mod m20261201_000004_digests_as_text;
mod m20261210_000005_administrators;
mod m20261215_000006_email_fold_index;
mod m20261220_000007_change_notifications;
mod m20261230_000008_cache_liveness_by_sequence;
mod m20261231_000009_recovery_tickets;

/// All migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_create_users::Migration),
            Box::new(m20261128_000002_create_sessions::Migration),
            Box::new(m20261128_000003_session_activity_and_login_failures::Migration),
            Box::new(m20261201_000004_digests_as_text::Migration),
            Box::new(m20261210_000005_administrators::Migration),
            Box::new(m20261215_000006_email_fold_index::Migration),
            Box::new(m20261220_000007_change_notifications::Migration),
            Box::new(m20261230_000008_cache_liveness_by_sequence::Migration),
            Box::new(m20261231_000009_recovery_tickets::Migration),
        ]
    }
}
