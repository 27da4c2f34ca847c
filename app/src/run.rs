//! Running the commands: the server with graceful shutdown, and the
//! operator commands.

use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

use domain::CreateUserError;
use domain::{AuthService, AuthType};

use adapter_seaorm::SchemaState;

use crate::config::{ImportArgs, LogFormat, MigrateArgs, ServeArgs};
use crate::import::{ImportError, ImportReport, import};
use crate::{
    Infrastructure, StartError, connect_sql, http_settings, open_storage, open_storage_serving,
    services,
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
    let storage = open_storage_serving(&args.storage).await?;
    let settings = args.settings();
    let (infra, queue_depth) = Infrastructure::real_with_queue_depth(args.hash_niceness);
    let services = services(&settings, &storage, &infra);
    crate::admin::bootstrap_user(&args, &services.users).await?;
    let sweeper = tokio::spawn(sweep(
        services.auth.clone(),
        Duration::from_secs(args.sweep_interval.into()),
    ));
    let endpoint = adapter_http::endpoint(services, http_settings(&settings));
    let (endpoint, metrics_server) = crate::with_metrics(endpoint, &args, queue_depth).await?;
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
        if settings.access.policy == domain::AccessPolicy::Owner {
            tracing::warn!(
                "ACCESS_POLICY=owner with AUTH_TYPE=none: no caller is known, so no one can list, change or create users"
            );
        }
    }
    tracing::info!(
        address = %local,
        auth_type = %args.auth_type,
        security_profile = ?args.security_profile,
        access_policy = %settings.access.policy,
        registration = %args.registration,
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
    if let Some(metrics_server) = metrics_server {
        metrics_server.abort();
    }
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
    /// A server holds the file storage's lock.
    #[error(
        "{0}. While a server runs on this folder, stop the server first, or make the change through its API (POST /api/v1/users, DELETE /api/v1/users/<id>, PUT /api/v1/users/me/password, DELETE /api/v1/auth_session/sessions)"
    )]
    InUse(String),
    /// No user has this email or id.
    #[error("no user has the email or id {0:?}")]
    NoSuchUser(String),
    /// The password could not be read.
    #[error("password: {0}")]
    Password(String),
    /// The password could not be set.
    #[error("cannot set the password: {0}")]
    SetPassword(#[from] domain::SetPasswordError),
    /// The administrator right could not be granted or revoked.
    #[error("cannot change the administrator right: {0}")]
    SetAdmin(#[from] domain::SetAdminError),
    /// `config check` found a problem.
    #[error("{0}")]
    Config(String),
    /// The output could not be written.
    #[error("cannot write the output: {0}")]
    Output(String),
    /// `--from` names no readable folder.
    #[error("import: {0}")]
    ImportSource(String),
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
    let store = connect_sql(&args.storage, 0).await?;
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
    if !args.from.is_dir() {
        return Err(CommandError::ImportSource(format!(
            "--from {} is not a folder (it should hold .db_User.json)",
            args.from.display()
        )));
    }
    let storage = crate::admin::open_for_command(&args.storage).await?;
    let report = import(&args.from, &storage, |line| eprintln!("importing… {line}")).await;
    storage.close().await;
    Ok(report?)
}
