//! Running the commands: the server with graceful shutdown, and the
//! operator commands.

use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

use domain::{AuthService, AuthType};
use domain::{CreateUserError, NewUser};

use adapter_seaorm::SchemaState;

use crate::config::{CreateUserArgs, ImportArgs, LogFormat, MigrateArgs, ServeArgs, StorageKind};
use crate::import::{ImportError, ImportReport, import};
use crate::{
    Infrastructure, Settings, StartError, connect_sql, http_settings, open_storage, services,
};

/// Starts logging to standard error.
pub fn init_logging(level: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// Runs the server until SIGINT or SIGTERM, then lets in-flight requests
/// finish.
///
/// # Errors
/// [`StartError`] when the storage or the address is unusable.
pub async fn serve(args: ServeArgs) -> Result<(), StartError> {
    let storage = open_storage(&args.storage).await?;
    let settings = args.settings();
    let services = services(&settings, &storage, &Infrastructure::real());
    let sweeper = tokio::spawn(sweep(
        services.auth.clone(),
        Duration::from_secs(args.sweep_interval.into()),
    ));
    let endpoint = adapter_http::endpoint(services, http_settings(&settings));
    let address = format!("{}:{}", args.api_host, args.api_port);
    let listener = tokio::net::TcpListener::bind(address.as_str())
        .await
        .map_err(|source| StartError::Listen {
            address: address.clone(),
            source,
        })?;
    let local = listener.local_addr().map_or(address, |a| a.to_string());
    if args.auth_type == AuthType::None {
        tracing::warn!(
            "AUTH_TYPE=none: AUTHENTICATION IS OFF, every route is open to anyone who can reach {local}"
        );
    }
    tracing::info!(
        address = %local,
        auth_type = %args.auth_type,
        storage = ?args.storage.storage,
        data_dir = %args.storage.data_dir.display(),
        session_duration = args.session_duration,
        session_idle_timeout = args.session_idle_timeout,
        "session-auth listening; API docs at /api/v1/docs"
    );
    crate::server::serve(
        listener,
        endpoint,
        args.server_limits(),
        shutdown_signal(),
        Duration::from_secs(args.shutdown_timeout),
    )
    .await;
    sweeper.abort();
    storage.close().await;
    tracing::info!("session-auth stopped");
    Ok(())
}

/// Removes expired and idle sessions every `interval`, on every storage
/// (sessions in process memory included), so dead sessions do not pile up.
async fn sweep(auth: Arc<AuthService>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match auth.prune_expired().await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "removed expired sessions"),
            Err(error) => {
                tracing::warn!(error = %error, "could not remove expired sessions; will retry")
            }
        }
    }
}

/// `session-auth sessions prune`: the sweeper's work, once; how many
/// sessions were removed.
///
/// # Errors
/// [`CommandError`] when the storage cannot be opened or fails.
pub async fn prune_sessions(args: ServeArgs) -> Result<u64, CommandError> {
    let storage = open_storage(&args.storage).await?;
    let services = services(&args.settings(), &storage, &Infrastructure::real());
    let pruned = services.auth.prune_expired().await;
    storage.close().await;
    Ok(pruned?)
}

async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

/// Why an operator command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The storage could not be opened.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The user could not be created.
    #[error("cannot create the user: {0}")]
    CreateUser(#[from] CreateUserError),
    /// The command needs a SQL storage.
    #[error(
        "`session-auth migrate` needs STORAGE=postgres or STORAGE=sqlite (memory and file storage have no schema)"
    )]
    NotSql,
    /// A migration failed.
    #[error(transparent)]
    Schema(#[from] adapter_seaorm::SchemaError),
    /// The import stopped.
    #[error("import failed: {0}")]
    Import(#[from] ImportError),
    /// The storage failed.
    #[error("storage failure")]
    Storage(#[from] domain::Failure),
}

/// `session-auth migrate`: applies pending migrations (or rolls back, or
/// reports); returns what to print.
///
/// # Errors
/// [`CommandError`] saying what went wrong.
pub async fn migrate(args: MigrateArgs) -> Result<String, CommandError> {
    if !args.storage.storage.is_sql() {
        return Err(CommandError::NotSql);
    }
    let store = connect_sql(&args.storage).await?;
    if let Some(steps) = args.down {
        store.migrate_down(steps).await?;
        return Ok(format!("rolled back {steps} migration(s)"));
    }
    if args.status {
        return Ok(match store.schema_state().await? {
            SchemaState::Current => "schema is up to date".to_owned(),
            SchemaState::Pending(pending) => format!("pending migrations: {}", pending.join(", ")),
        });
    }
    let applied = store.migrate_up().await?;
    Ok(if applied.is_empty() {
        "schema is up to date; nothing to apply".to_owned()
    } else {
        format!("applied: {}", applied.join(", "))
    })
}

/// `session-auth import --from DIR`.
///
/// # Errors
/// [`CommandError`] when the storage cannot be opened or the import stops.
pub async fn import_flask(args: ImportArgs) -> Result<ImportReport, CommandError> {
    let storage = open_storage(&args.storage).await?;
    let report = import(&args.from, &storage, |line| eprintln!("importing… {line}")).await;
    storage.close().await;
    Ok(report?)
}

/// `session-auth user create`: adds a user and returns its id.
///
/// # Errors
/// [`CommandError`] saying what went wrong.
pub async fn create_user(args: CreateUserArgs) -> Result<String, CommandError> {
    if args.storage.storage == StorageKind::Memory {
        tracing::warn!("STORAGE=memory: the user will be lost when this command exits");
    }
    let storage = open_storage(&args.storage).await?;
    let users = services(&Settings::default(), &storage, &Infrastructure::real()).users;
    let user = users
        .create(NewUser::parse(
            Some(args.email),
            Some(args.password),
            args.first_name,
            args.last_name,
        )?)
        .await;
    storage.close().await;
    Ok(user?.id.to_string())
}
