//! The composition root of session-auth: configuration, wiring of adapters
//! to the domain, and the operator commands. It is the only crate that knows
//! every adapter.

pub mod admin;
pub mod config;
pub mod import;
pub mod run;
pub mod server;

use std::sync::Arc;

use adapter_crypto::{Argon2Hasher, OsTokenGenerator, SystemClock, ZxcvbnStrength};
use adapter_file::{FileStore, JournalSettings};
use adapter_http::{HttpSettings, MetricsExposure, QueueDepth, ServiceEndpoint, Services};
use adapter_memory::{MemoryAttemptLog, MemoryStore};
use adapter_seaorm::{SchemaError, SchemaState, SqlOptions, SqlStore};
use domain::{
    AccessRules, AttemptLog, AuthPorts, AuthRules, AuthService, AuthType, Clock, Gate,
    PasswordHasher, PasswordRules, SessionLifetime, SessionRepository, SessionRules, ThrottleRules,
    TokenGenerator, UserRepository, UserRules, UserService,
};

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
            attempts: store,
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
        StorageKind::File => Storage::file(
            FileStore::open_with(
                &args.data_dir,
                JournalSettings {
                    compact_bytes: args.journal_compact_bytes,
                    compact_age: std::time::Duration::from_secs(args.journal_compact_age),
                },
            )
            .await?,
        ),
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
    Ok(SqlStore::connect(&SqlOptions {
        pool_size: args.db_pool_size,
        statement_timeout: std::time::Duration::from_secs(args.db_statement_timeout.into()),
        session_cache,
        ..SqlOptions::new(url)
    })
    .await?)
}

/// The settings that shape the service, independent of where they came
/// from.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `AUTH_TYPE`.
    pub auth_type: AuthType,
    /// `SESSION_NAME`.
    pub session_name: String,
    /// `SESSION_DURATION`, seconds.
    pub session_duration: i64,
    /// `SESSION_IDLE_TIMEOUT`, seconds; 0 or less: no idle timeout.
    pub session_idle_timeout: i64,
    /// `COOKIE_SECURE`.
    pub cookie_secure: bool,
    /// `LOGIN_ERRORS`: what a failed login tells the client.
    pub login_errors: domain::LoginErrors,
    /// `PASSWORD_POLICY`: whether new passwords must also be strong.
    pub password_policy: config::PasswordPolicy,
    /// The brute-force limits.
    pub throttle: ThrottleRules,
    /// Length limits on new passwords.
    pub passwords: PasswordRules,
    /// Largest request body accepted, bytes.
    pub body_limit: usize,
    /// Take the client address from `X-Forwarded-For` (behind a trusted
    /// proxy) instead of the connection.
    pub trust_forwarded_for: bool,
    /// `ACCESS_POLICY` and `REGISTRATION`: who may do what to which user.
    pub access: AccessRules,
}

impl Default for Settings {
    /// The documented defaults: those of `serve`'s flags.
    fn default() -> Self {
        config::ServeArgs::defaults().settings()
    }
}

impl Settings {
    /// The session rules these settings give.
    pub fn session_rules(&self) -> SessionRules {
        let lifetime = if self.auth_type.sessions_expire() {
            SessionLifetime::from_seconds(self.session_duration)
        } else {
            SessionLifetime::Unlimited
        };
        let idle_timeout = (self.session_idle_timeout > 0)
            .then(|| chrono::Duration::try_seconds(self.session_idle_timeout))
            .flatten();
        SessionRules {
            lifetime,
            idle_timeout,
        }
    }
}

/// The non-storage ports; [`Infrastructure::real`] in production, fakes
/// (a test clock) in tests.
#[derive(Clone)]
pub struct Infrastructure {
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Session tokens.
    pub tokens: Arc<dyn TokenGenerator>,
}

impl Infrastructure {
    /// Argon2id on every core (at the process's priority: for the CLI,
    /// which hashes alone), the OS CSPRNG and the system clock.
    pub fn real() -> Self {
        Self::real_with_queue_depth(0).0
    }

    /// [`Self::real`] with the hashing threads' nice value raised by
    /// `hash_niceness` (`HASH_NICENESS`), and a probe of the Argon2 queue's
    /// depth for the metrics.
    pub fn real_with_queue_depth(hash_niceness: u8) -> (Self, QueueDepth) {
        let hasher = Arc::new(Argon2Hasher::per_core(hash_niceness));
        let probe = hasher.clone();
        let infra = Self {
            hasher,
            clock: Arc::new(SystemClock),
            tokens: Arc::new(OsTokenGenerator),
        };
        (infra, Arc::new(move || probe.queue_depth()))
    }
}

/// Turns the metrics on as `METRICS` and `METRICS_ADDR` say: on the API's
/// port, or on a listener of their own (started here, so a bad address
/// stops the start).
///
/// # Errors
/// [`StartError::Listen`] when `METRICS_ADDR` cannot be listened on.
pub async fn with_metrics(
    endpoint: ServiceEndpoint,
    args: &config::ServeArgs,
    queue_depth: QueueDepth,
) -> Result<(ServiceEndpoint, Option<tokio::task::JoinHandle<()>>), StartError> {
    use poem::listener::{Listener, TcpListener};
    let exposure = match (args.metrics_addr, args.metrics) {
        (Some(_), _) => MetricsExposure::Separate,
        (None, true) => MetricsExposure::ApiPort,
        (None, false) => MetricsExposure::Off,
    };
    let endpoint = endpoint.with_metrics(exposure, Some(queue_depth));
    let Some(address) = args.metrics_addr else {
        return Ok((endpoint, None));
    };
    let acceptor = TcpListener::bind(address)
        .into_acceptor()
        .await
        .map_err(|source| StartError::Listen {
            address: address.to_string(),
            source,
        })?;
    tracing::info!(address = %address, "metrics at /metrics");
    let metrics = endpoint.metrics_endpoint();
    let task = tokio::spawn(async move {
        if let Err(error) = poem::Server::new_with_acceptor(acceptor).run(metrics).await {
            tracing::error!(error = %error, "the metrics listener stopped");
        }
    });
    Ok((endpoint, Some(task)))
}

/// The use cases wired for these settings.
pub fn services(settings: &Settings, storage: &Storage, infra: &Infrastructure) -> Services {
    // session_auth and session_exp_auth keep sessions in process memory,
    // whatever the storage; session_db_auth keeps them in the storage.
    let sessions: Arc<dyn SessionRepository> = if settings.auth_type.stores_sessions() {
        storage.sessions.clone()
    } else {
        Arc::new(MemoryStore::new())
    };
    let ports = AuthPorts {
        users: storage.users.clone(),
        sessions,
        attempts: storage.attempts.clone(),
        hasher: infra.hasher.clone(),
        clock: infra.clock.clone(),
        tokens: infra.tokens.clone(),
        strength: match settings.password_policy {
            config::PasswordPolicy::Length => None,
            config::PasswordPolicy::Strong => Some(Arc::new(ZxcvbnStrength::default())),
        },
    };
    let rules = AuthRules {
        session_logins: settings.auth_type.uses_sessions(),
        sessions: settings.session_rules(),
        throttle: settings.throttle,
        passwords: settings.passwords,
        login_errors: settings.login_errors,
    };
    let users = Arc::new(UserService::new(
        &ports,
        UserRules {
            passwords: settings.passwords,
            throttle: settings.throttle,
            access: settings.access,
        },
    ));
    let auth = Arc::new(AuthService::new(ports, rules));
    let gate = Gate::new(settings.auth_type.policy(auth.clone()));
    Services { gate, auth, users }
}

/// The HTTP-level settings of these settings.
pub fn http_settings(settings: &Settings) -> HttpSettings {
    HttpSettings {
        session_name: settings.session_name.clone(),
        cookie_secure: settings.cookie_secure,
        body_limit: settings.body_limit,
        trust_forwarded_for: settings.trust_forwarded_for,
    }
}

/// The complete HTTP service for these settings.
pub fn http_endpoint(
    settings: &Settings,
    storage: &Storage,
    infra: &Infrastructure,
) -> ServiceEndpoint {
    adapter_http::endpoint(services(settings, storage, infra), http_settings(settings))
}
