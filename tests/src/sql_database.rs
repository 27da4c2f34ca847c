//! A fresh SQL database per test: a SQLite file in a temporary folder, or a
//! new PostgreSQL database on the server named by `TEST_DATABASE_URL`,
//! cloned from a template of the current schema
//! ([`crate::postgres_template`]) and dropped when the test ends. Tests
//! therefore run in parallel without seeing each other's rows.

use adapter_seaorm::{SqlOptions, SqlStore};
use chrono::{DateTime, TimeZone, Utc};
use domain::{
    Email, PasswordHash, Session, SessionId, SessionKey, SessionRepository, User, UserId,
    UserRepository,
};
use sea_orm::{ConnectionTrait, Database, DatabaseBackend, Statement};
use std::time::Duration;
use tempfile::TempDir;

use crate::postgres_template::{database_url, migrated_template};
/// The tests' connection settings for `url`: a pool of 10 connections,
/// 5 s to get one, 5 s per statement, no session cache. A test that needs
/// another value says so: `SqlOptions { pool_size: 1, ..sql_options(url) }`.
pub fn sql_options(url: impl Into<String>) -> SqlOptions {
    SqlOptions {
        url: url.into(),
        pool_size: 10,
        acquire_timeout: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(5),
        session_cache: 0,
    }
}

/// Noon on January `day`, 2024: the fixtures' dates.
pub fn noon(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, day, 12, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("January {day} is not a date"))
}

/// Stores a user `<token>@example.com` (created on the 1st) with one
/// session under `token` (see [`session_for`]).
pub async fn user_with_session(store: &SqlStore, token: &str) -> (User, Session) {
    let user = User {
        id: UserId::generate(),
        email: Email::parse(format!("{token}@example.com")).expect("fixture email"),
        password_hash: PasswordHash::Unusable,
        first_name: None,
        last_name: None,
        created_at: noon(1),
        updated_at: noon(1),
        is_admin: false,
    };
    UserRepository::insert(store, &user)
        .await
        .expect("insert user");
    let session = session_for(store, &user, token).await;
    (user, session)
}

/// Stores a session of `user` under `token`: created on the 2nd, last used
/// on the 5th, from 203.0.113.7 with curl.
pub async fn session_for(store: &SqlStore, user: &User, token: &str) -> Session {
    let session = Session {
        id: SessionId::generate(),
        key: SessionKey::digest_of(token),
        user_id: user.id,
        created_at: noon(2),
        updated_at: noon(2),
        last_used_at: noon(5),
        client_address: Some("203.0.113.7".to_owned()),
        user_agent: Some("curl/8.5.0".to_owned()),
    };
    SessionRepository::insert(store, &session)
        .await
        .expect("insert session");
    session
}

/// One test's database.
pub struct TestDatabase {
    /// The URL the service connects to.
    pub url: String,
    postgres: Option<PostgresDatabase>,
    /// Cloned from the template, so already at this build's schema.
    migrated: bool,
    _dir: Option<TempDir>,
}

struct PostgresDatabase {
    admin_url: String,
    name: String,
}

impl PostgresDatabase {
    /// Drops the database. The test's connections may still be open (a
    /// dropped pool closes them lazily): they are ended first, and their
    /// end awaited in steps of 5 ms, since `DROP DATABASE … WITH (FORCE)`
    /// waits for them in steps of 100 ms.
    async fn drop_database(self) {
        let Ok(admin) = Database::connect(&self.admin_url).await else {
            return;
        };
        let connected = |sql: &str| {
            Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                sql,
                [self.name.as_str().into()],
            )
        };
        let _ = admin
            .execute_raw(connected(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            ))
            .await;
        for _ in 0..400 {
            let left = admin
                .query_one_raw(connected(
                    "SELECT 1 FROM pg_stat_activity WHERE datname = $1 LIMIT 1",
                ))
                .await;
            if !matches!(left, Ok(Some(_))) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let _ = admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .await;
        let _ = admin.close().await;
    }
}

/// `TEST_DATABASE_URL`, with `sslmode=disable` added unless it says
/// `sslmode` itself: in a debug build a TLS handshake took about 90 ms,
/// most of what each of a test's many connections cost, and no test but
/// the one that sets `sslmode` itself is about TLS.
///
/// # Panics
/// When it is unset or not a URL.
pub fn test_database_url() -> String {
    let text = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!("TEST_DATABASE_URL must name a PostgreSQL database for this test")
    });
    let mut url =
        url::Url::parse(&text).unwrap_or_else(|e| panic!("TEST_DATABASE_URL is not a URL: {e}"));
    if !url.query_pairs().any(|(key, _)| key == "sslmode") {
        url.query_pairs_mut().append_pair("sslmode", "disable");
    }
    url.to_string()
}

impl TestDatabase {
    /// A new SQLite database file.
    pub fn sqlite() -> Self {
        let dir =
            TempDir::new().unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let url = format!("sqlite://{}/session-auth.db?mode=rwc", dir.path().display());
        Self {
            url,
            postgres: None,
            migrated: false,
            _dir: Some(dir),
        }
    }

    /// A new database on the PostgreSQL server of `TEST_DATABASE_URL`,
    /// with the schema of this build already applied (a copy of the
    /// template, see [`crate::postgres_template`]).
    ///
    /// # Panics
    /// When the variable is unset or the server cannot be reached: a
    /// PostgreSQL test must fail, never skip, when its database is missing.
    pub async fn postgres() -> Self {
        let admin_url = test_database_url();
        let template = migrated_template(&admin_url).await;
        Self::create_postgres(admin_url, Some(template)).await
    }

    /// A new, empty database on the PostgreSQL server of
    /// `TEST_DATABASE_URL`: no schema, for what migrates it itself (the
    /// real binary at start, `session-auth migrate`).
    ///
    /// # Panics
    /// As [`Self::postgres`].
    pub async fn postgres_empty() -> Self {
        Self::create_postgres(test_database_url(), None).await
    }

    async fn create_postgres(admin_url: String, template: Option<&str>) -> Self {
        let name = format!("session_auth_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at TEST_DATABASE_URL: {e}"));
        admin
            .execute_unprepared(&match template {
                Some(template) => format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""),
                None => format!("CREATE DATABASE \"{name}\""),
            })
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let _ = admin.close().await;
        Self {
            url: database_url(&admin_url, &name),
            postgres: Some(PostgresDatabase { admin_url, name }),
            migrated: template.is_some(),
            _dir: None,
        }
    }

    /// The PostgreSQL database's name (`None` for SQLite).
    pub fn postgres_name(&self) -> Option<&str> {
        self.postgres.as_ref().map(|pg| pg.name.as_str())
    }

    /// Drops the PostgreSQL database now, even while connections to it are
    /// open (what the end of the test does otherwise).
    pub async fn drop_now(mut self) {
        if let Some(pg) = self.postgres.take() {
            pg.drop_database().await;
        }
    }

    /// A connected store with the schema applied (by cloning the template,
    /// or by migrating now).
    pub async fn store(&self) -> SqlStore {
        self.store_with(sql_options(self.url.clone())).await
    }

    /// A connected store with the schema applied and, on PostgreSQL, a
    /// session cache of `size` sessions, as a server keeps.
    pub async fn cached_store(&self, size: usize) -> SqlStore {
        self.store_with(SqlOptions {
            session_cache: size,
            ..sql_options(self.url.clone())
        })
        .await
    }

    async fn store_with(&self, options: SqlOptions) -> SqlStore {
        let store = SqlStore::connect(&options)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.url));
        if !self.migrated {
            store
                .migrate_up()
                .await
                .unwrap_or_else(|e| panic!("cannot migrate {}: {e}", self.url));
        }
        store
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(pg) = self.postgres.take() else {
            return;
        };
        // Drop runs outside any runtime guarantee: use a thread with its own
        // small runtime so this works from sync and async contexts alike.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(pg.drop_database());
        })
        .join();
    }
}
