//! The store itself: its connections (the pool, the look-up's own
//! connections, the session cache), how it connects, and who is told of
//! its statements. The ports are implemented in `users`, `sessions` and
//! `attempts`; the schema in `schema`.

use std::sync::Arc;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, RuntimeErr,
    Statement,
};

use crate::cache::SessionCache;
use crate::direct::Direct;
use crate::errors::{ConnectError, redact_url};
use crate::options::{IDLE_BEFORE_PING, SqlOptions};

/// Every storage port over one SQL database: users, sessions, and the
/// failed-login log (shared by every instance on the database).
#[derive(Clone, Debug)]
pub struct SqlStore {
    pub(crate) db: DatabaseConnection,
    /// The per-request session look-up's own connections.
    pub(crate) direct: Arc<Direct>,
    /// Sessions and their users, on PostgreSQL when asked for.
    pub(crate) cache: Option<Arc<SessionCache>>,
    pub(crate) observer: Option<Observer>,
}

/// Who is told of every statement (see [`SqlStore::observe_bound_statements`]).
#[derive(Clone)]
pub(crate) struct Observer(pub(crate) Arc<dyn Fn(&Statement) + Send + Sync>);

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
}

impl SqlStore {
    /// Connects (and checks the connection once).
    ///
    /// # Errors
    /// [`ConnectError`] naming the URL without its password.
    pub async fn connect(options: &SqlOptions) -> Result<Self, ConnectError> {
        let mut connect = ConnectOptions::new(options.url.clone());
        connect
            .max_connections(options.pool_size.max(1))
            .min_connections(0)
            .acquire_timeout(options.acquire_timeout)
            .connect_timeout(options.acquire_timeout)
            // sqlx pings every connection it hands out unless told
            // otherwise: a round trip more per statement. Check only
            // connections idle long enough to have been dropped meanwhile
            // (a broken one fails its statement, 503, and is discarded).
            .test_before_acquire_if_idle_for(IDLE_BEFORE_PING)
            // SQLite's default page cache (2 MB a connection) cannot hold
            // the index pages that bulk inserts of random keys (UUIDs,
            // digests) touch, so each transaction wrote them out again and
            // again: 32 MB, allocated only as used.
            .map_sqlx_sqlite_opts(|options| options.pragma("cache_size", "-32768"))
            .sqlx_logging(false);
        let statement_timeout = options.statement_timeout;
        let milliseconds = statement_timeout.as_millis().max(1).to_string();
        connect
            .map_sqlx_postgres_opts(move |pg| {
                pg.options([("statement_timeout", milliseconds.as_str())])
            })
            .map_sqlx_sqlite_opts(move |sqlite| sqlite.busy_timeout(statement_timeout));
        let direct = Direct::new(&options.url, options.pool_size, options.acquire_timeout)
            .map_err(|e| ConnectError {
                url: redact_url(&options.url),
                source: DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))),
            })?;
        crate::errors::first_contact(&options.url, options.acquire_timeout)
            .await
            .map_err(|source| ConnectError {
                url: redact_url(&options.url),
                source,
            })?;
        let db = Database::connect(connect)
            .await
            .map_err(|source| ConnectError {
                url: redact_url(&options.url),
                source,
            })?;
        db.ping().await.map_err(|source| ConnectError {
            url: redact_url(&options.url),
            source,
        })?;
        if db.get_database_backend() == DbBackend::Sqlite {
            // Write-ahead logging: readers (every session-authenticated
            // request) never wait for a writer (a login, a logout, the
            // CLI), and a commit costs one sync instead of several. The
            // mode is kept in the database file, so every process opening
            // it uses it too. Best effort: a database that cannot switch
            // (another process holds it exclusively) works as before.
            if let Err(error) = db.execute_unprepared("PRAGMA journal_mode = WAL").await {
                tracing::warn!(error = %error, "could not switch SQLite to write-ahead logging");
            }
        }
        let cache = (options.session_cache > 0 && db.get_database_backend() == DbBackend::Postgres)
            .then(|| SessionCache::start(&options.url, options.session_cache))
            .transpose()
            .map_err(|e| ConnectError {
                url: redact_url(&options.url),
                source: DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))),
            })?;
        Ok(Self {
            db,
            direct: Arc::new(direct),
            cache,
            observer: None,
        })
    }

    /// The connection, for migrations and tests.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Calls `observer` with the SQL of every statement this store runs
    /// (for metrics, and for tests that count round trips).
    pub fn observe_statements(&mut self, observer: impl Fn(&str) + Send + Sync + 'static) {
        self.observe_bound_statements(move |statement| observer(&statement.sql));
    }

    /// Calls `observer` with every statement this store runs, with the
    /// values bound to it (so a test can ask the database for the plan of
    /// exactly what the store runs, parameter types included).
    pub fn observe_bound_statements(
        &mut self,
        observer: impl Fn(&Statement) + Send + Sync + 'static,
    ) {
        let observer: Arc<dyn Fn(&Statement) + Send + Sync> = Arc::new(observer);
        let through_orm = Arc::clone(&observer);
        self.db
            .set_metric_callback(move |info| through_orm(info.statement));
        self.observer = Some(Observer(observer));
    }
}
