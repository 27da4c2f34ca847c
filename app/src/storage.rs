//! Opening the storage the configuration names: memory, the Flask files
//! (with their journal), SQLite or PostgreSQL (with migrations), as the
//! storage ports the use cases take; and why it could not be opened.

use std::sync::Arc;

use adapter_file::{FileRecoveryTickets, FileStore, JournalSettings};
use adapter_memory::{MemoryAttemptLog, MemoryRecoveryTickets, MemoryStore};
use adapter_seaorm::{SchemaError, SchemaState, SqlOptions, SqlStore};
use domain::{AttemptLog, RecoveryTokenRepository, SessionRepository, UserRepository};

use crate::config::{StorageArgs, StorageKind};

/// The storage ports of one backend.
#[derive(Clone)]
pub struct Storage {
    /// Users.
    pub users: Arc<dyn UserRepository>,
    /// Sessions (used by `session_db_auth`).
    pub sessions: Arc<dyn SessionRepository>,
    /// Failed password checks (the brute-force limits).
    pub attempts: Arc<dyn AttemptLog>,
    /// Password-reset tickets: in the database, in the file storage's own
    /// file, or in process memory.
    pub recovery: Arc<dyn RecoveryTokenRepository>,
    /// The file store, which has a clean shutdown of its own.
    file: Option<Arc<FileStore>>,
}

impl Storage {
    /// Users and sessions served by one store; failed password checks
    /// counted in process memory (so they reset at a restart).
    pub fn of<S: UserRepository + SessionRepository + 'static>(store: S) -> Self {
        let store = Arc::new(store);
        Self {
            users: store.clone(),
            sessions: store,
            attempts: Arc::new(MemoryAttemptLog::new()),
            recovery: Arc::new(MemoryRecoveryTickets::new()),
            file: None,
        }
    }

    /// The file storage: as [`Storage::of`], and [`Storage::close`]
    /// compacts its journal into the Flask files.
    pub fn file(store: FileStore) -> Self {
        let store = Arc::new(store);
        Self {
            users: store.clone(),
            sessions: store.clone(),
            attempts: Arc::new(MemoryAttemptLog::new()),
            recovery: Arc::new(MemoryRecoveryTickets::new()),
            file: Some(store),
        }
    }

    /// The file store, when this is the file storage.
    pub fn file_store(&self) -> Option<&FileStore> {
        self.file.as_deref()
    }

    /// The clean shutdown of the storage: the file storage compacts its
    /// journal, leaving plain Flask files. A failure is logged: the
    /// journal then stays and the next start replays it, losing nothing.
    pub async fn close(&self) {
        if let Some(store) = &self.file
            && let Err(error) = store.close().await
        {
            tracing::warn!(error = %error, "could not compact the journal at shutdown; it will be replayed at the next start");
        }
    }

    /// Everything in one SQL database, failed password checks included, so
    /// every instance on that database shares the limits and a restart
    /// keeps them.
    pub fn sql(store: SqlStore) -> Self {
        let store = Arc::new(store);
        Self {
            users: store.clone(),
            sessions: store.clone(),
            attempts: store.clone(),
            recovery: store,
            file: None,
        }
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The file storage refused to open.
    #[error(transparent)]
    File(#[from] adapter_file::OpenError),
    /// The database could not be reached.
    #[error(transparent)]
    Sql(#[from] adapter_seaorm::ConnectError),
    /// The database schema does not match this build.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// DATABASE_URL is missing or names another kind of database.
    #[error("{0}")]
    DatabaseUrl(String),
    /// The bootstrap user could not be created.
    #[error("{0}")]
    Bootstrap(String),
    /// The mail settings are unusable.
    #[error("{0}")]
    Mail(String),
    /// The listen address is unusable.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address from API_HOST and API_PORT.
        address: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Opens the storage the configuration names; for SQL, applies pending
/// migrations (unless AUTO_MIGRATE is off) and refuses a schema newer than
/// this build.
///
/// # Errors
/// [`StartError`] naming what to fix.
pub async fn open_storage(args: &StorageArgs) -> Result<Storage, StartError> {
    open_storage_with(args, 0).await
}

/// [`open_storage`] for the server: on PostgreSQL with a session cache of
/// `SESSION_CACHE_SIZE` (a command, short-lived, keeps none).
///
/// # Errors
/// As [`open_storage`].
pub async fn open_storage_serving(args: &StorageArgs) -> Result<Storage, StartError> {
    open_storage_with(args, args.session_cache_size).await
}

async fn open_storage_with(
    args: &StorageArgs,
    session_cache: usize,
) -> Result<Storage, StartError> {
    Ok(match args.storage {
        StorageKind::Memory => Storage::of(MemoryStore::new()),
        StorageKind::File => {
            let mut storage = Storage::file(
                FileStore::open_with(
                    &args.data_dir,
                    JournalSettings {
                        compact_bytes: args.journal_compact_bytes,
                        compact_age: std::time::Duration::from_secs(args.journal_compact_age),
                    },
                )
                .await?,
            );
            // Opened once the directory is locked: this process owns it.
            storage.recovery = Arc::new(FileRecoveryTickets::open(&args.data_dir)?);
            storage
        }
        StorageKind::Postgres | StorageKind::Sqlite => {
            let store = connect_sql(args, session_cache).await?;
            if args.auto_migrate {
                let applied = store.migrate_up().await?;
                if !applied.is_empty() {
                    tracing::info!(migrations = ?applied, "applied database migrations");
                }
            } else if let SchemaState::Pending(pending) = store.schema_state().await? {
                return Err(SchemaError::Pending(pending).into());
            }
            Storage::sql(store)
        }
    })
}

/// The default SQLite database when DATABASE_URL is unset.
pub const DEFAULT_SQLITE_URL: &str = "sqlite://session-auth.db?mode=rwc";

/// Connects to the SQL database of the configuration, without touching its
/// schema, with a session cache of `session_cache` sessions on PostgreSQL
/// (0: none, as for a command).
///
/// # Errors
/// [`StartError`] when DATABASE_URL is missing or wrong, or the database
/// cannot be reached (the message names the URL without its password).
pub async fn connect_sql(args: &StorageArgs, session_cache: usize) -> Result<SqlStore, StartError> {
    let url = match (args.storage, args.database_url.as_deref()) {
        (StorageKind::Postgres, Some(url))
            if url.starts_with("postgres://") || url.starts_with("postgresql://") =>
        {
            url.to_owned()
        }
        (StorageKind::Postgres, Some(_)) => {
            return Err(StartError::DatabaseUrl(
                "STORAGE=postgres needs a DATABASE_URL starting with postgres://".into(),
            ));
        }
        (StorageKind::Postgres, None) => {
            return Err(StartError::DatabaseUrl(
                "STORAGE=postgres needs DATABASE_URL, e.g. postgres://user:password@localhost:5432/session_auth".into(),
            ));
        }
        (StorageKind::Sqlite, Some(url)) if url.starts_with("sqlite:") => url.to_owned(),
        (StorageKind::Sqlite, Some(_)) => {
            return Err(StartError::DatabaseUrl(
                "STORAGE=sqlite needs a DATABASE_URL starting with sqlite:, e.g. sqlite://session-auth.db?mode=rwc".into(),
            ));
        }
        (StorageKind::Sqlite, None) => DEFAULT_SQLITE_URL.to_owned(),
        (kind, _) => {
            return Err(StartError::DatabaseUrl(
                format!("STORAGE={kind:?} is not a SQL storage").to_lowercase(),
            ));
        }
    };
    // No setting names it (none ever did): a request waits this long for a
    // connection before it is answered 503.
    const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
    Ok(SqlStore::connect(&SqlOptions {
        url,
        pool_size: args.db_pool_size,
        acquire_timeout: ACQUIRE_TIMEOUT,
        statement_timeout: std::time::Duration::from_secs(args.db_statement_timeout.into()),
        session_cache,
    })
    .await?)
}
