//! Running the server: logging, the storage and the use cases from the
//! configuration, the bootstrap user, the sweeper, the listener, and a
//! graceful shutdown.

use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

use domain::{AuthType, Housekeeping};

use crate::config::{LogFormat, ServeArgs};
use crate::storage::{StartError, open_storage_serving};
use crate::wiring::{Infrastructure, http_settings, services};

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
    let (mut infra, queue_depth) = Infrastructure::real_with_queue_depth(args.hash_niceness);
    infra.mail = crate::wiring::MailSetup::from_args(&args.mail)?;
    let services = services(&settings, &storage, &infra);
    crate::bootstrap::bootstrap_user(&args, &services.use_cases).await?;
    let housekeeping = services.use_cases.housekeeping.clone();
    // The CLI's way in while this server holds the file storage's folder.
    #[cfg(unix)]
    let admin_socket = crate::commands::remote::AdminSocket::open(&args, &storage);
    let sweeper = tokio::spawn(sweep(
        housekeeping.clone(),
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
    let bound = listener.local_addr().ok();
    if args.auth_type == AuthType::None {
        let reach = bound.map_or(address, |a| a.to_string());
        tracing::warn!(
            "AUTH_TYPE=none: AUTHENTICATION IS OFF, every route is open to anyone who can reach {reach}"
        );
        if settings.access.policy == domain::AccessPolicy::Owner {
            tracing::warn!(
                "ACCESS_POLICY=owner with AUTH_TYPE=none: no caller is known, so no one can list, change or create users"
            );
        }
    }
    crate::start_line::announce(&args, bound, housekeeping.as_ref()).await;
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
    #[cfg(unix)]
    if let Some(admin_socket) = admin_socket {
        admin_socket.close();
    }
    storage.close().await;
    tracing::info!("session-auth stopped");
    Ok(())
}

/// Removes expired and idle sessions every `interval`, on every storage
/// (sessions in process memory included), so dead sessions do not pile up.
async fn sweep(housekeeping: Arc<dyn Housekeeping>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match housekeeping.prune_expired().await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "removed expired sessions"),
            Err(error) => {
                tracing::warn!(error = %error, "could not remove expired sessions; will retry")
            }
        }
    }
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
