//! The PostgreSQL template database that test databases are cloned from:
//! migrated once to this build's schema, so that a test's database is a
//! file copy (`CREATE DATABASE … TEMPLATE …`) instead of seven migrations.
//!
//! The template's name carries a digest of the migrations' names, so a
//! build with another list of migrations (a new one, one renamed) makes
//! and uses its own template and never clones a stale schema. Migrations
//! are never edited in place once merged; a migration edited while it is
//! being written needs its template dropped by hand (`DROP DATABASE
//! "session_auth_template_…"`), or a new name.
//!
//! One process makes the template while the others wait: the maker holds
//! a PostgreSQL advisory lock for the whole time, builds under a temporary
//! name and renames when the schema is complete, so the template's name
//! exists only for a finished template, and a maker that died half way
//! leaves nothing another would clone. Nobody may connect to the template
//! afterwards (`ALLOW_CONNECTIONS false`), since PostgreSQL refuses to
//! copy a database while a session is connected to it.

use adapter_seaorm::{SqlOptions, SqlStore};
use migration::MigratorTrait;
use sea_orm::{ConnectionTrait, Database, DatabaseBackend, Statement, TransactionTrait};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

/// The advisory lock that makers of a template take (any value no other
/// program on a test server is likely to use).
const LOCK: i64 = 0x5e55_1011_a07e_0001;

/// The template this process clones, once made or found.
static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// The name of the template of this build's schema, making it on the
/// server of `admin_url` if no process has yet.
///
/// # Panics
/// When the server cannot be reached or refuses: a PostgreSQL test fails,
/// never skips, when its database is missing.
pub async fn migrated_template(admin_url: &str) -> &'static str {
    TEMPLATE
        .get_or_init(|| async {
            let name = template_name();
            find_or_make(admin_url, &name).await;
            name
        })
        .await
}

/// `session_auth_template_` and 16 hex digits of the SHA-256 of the
/// migrations' names, oldest first.
fn template_name() -> String {
    let mut digest = Sha256::new();
    for migration in migration::Migrator::migrations() {
        digest.update(migration.name().as_bytes());
        digest.update(b"\n");
    }
    let hex = hex::encode(digest.finalize());
    format!("session_auth_template_{}", &hex[..16])
}

async fn find_or_make(admin_url: &str, name: &str) {
    let admin = Database::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at TEST_DATABASE_URL: {e}"));
    // A transaction-scoped lock: released at the commit below, or when the
    // connection closes if this process dies first.
    let lock = admin
        .begin()
        .await
        .unwrap_or_else(|e| panic!("cannot open a transaction on PostgreSQL: {e}"));
    lock.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({LOCK})"))
        .await
        .unwrap_or_else(|e| panic!("cannot take the template lock: {e}"));
    if !exists(&admin, name).await {
        make(admin_url, &admin, name).await;
    }
    lock.commit()
        .await
        .unwrap_or_else(|e| panic!("cannot release the template lock: {e}"));
    let _ = admin.close().await;
}

/// Whether the database `name` exists on the server.
async fn exists(admin: &impl ConnectionTrait, name: &str) -> bool {
    admin
        .query_one_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await
        .unwrap_or_else(|e| panic!("cannot list the databases: {e}"))
        .is_some()
}

/// Builds the template under a temporary name, migrates it, closes every
/// connection to it and renames it to `name`.
async fn make(admin_url: &str, admin: &impl ConnectionTrait, name: &str) {
    let building = format!("{name}_new");
    for statement in [
        format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
        format!("CREATE DATABASE \"{building}\""),
    ] {
        admin
            .execute_unprepared(&statement)
            .await
            .unwrap_or_else(|e| panic!("cannot prepare the template ({statement}): {e}"));
    }
    let url = database_url(admin_url, &building);
    // One connection is all a migration needs.
    let options = SqlOptions {
        url: url.clone(),
        pool_size: 1,
        acquire_timeout: std::time::Duration::from_secs(30),
        statement_timeout: std::time::Duration::from_secs(60),
        session_cache: 0,
    };
    let store = SqlStore::connect(&options)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
    store
        .migrate_up()
        .await
        .unwrap_or_else(|e| panic!("cannot migrate the template {url}: {e}"));
    store
        .connection()
        .close_by_ref()
        .await
        .unwrap_or_else(|e| panic!("cannot close the template's connections: {e}"));
    drop(store);
    for statement in [
        format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\""),
        format!("ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS false"),
    ] {
        admin
            .execute_unprepared(&statement)
            .await
            .unwrap_or_else(|e| panic!("cannot finish the template ({statement}): {e}"));
    }
}

/// `admin_url` with its database replaced by `database`.
pub fn database_url(admin_url: &str, database: &str) -> String {
    let mut url = url::Url::parse(admin_url)
        .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is not a URL: {e}"));
    url.set_path(&format!("/{database}"));
    url.to_string()
}
