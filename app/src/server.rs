//! The HTTP server around the endpoint: every resource a client can hold is
//! bounded by a setting. At most `max_connections` connections are served
//! at once (the rest wait in the kernel's backlog); a request's headers must
//! arrive within `header_read_timeout` (slow-loris clients are cut off) and
//! fit in `max_header_bytes` and `max_headers`; when accepting fails (no
//! file descriptor left) the loop backs off and logs once instead of
//! spinning. On shutdown it stops accepting and gives in-flight requests
//! `grace` to finish.

use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint, EndpointExt};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// What one client may hold, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// How long a request's headers may take to arrive.
    pub header_read_timeout: Duration,
    /// The largest header section, in bytes.
    pub max_header_bytes: usize,
    /// The most header fields in one request.
    pub max_headers: usize,
}

/// The smallest header buffer hyper accepts.
pub const MIN_HEADER_BYTES: usize = 8192;

type ResponseBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

/// Serves `endpoint` on `listener` within `limits` until `shutdown`
/// completes, then waits up to `grace` for open connections to finish.
pub async fn serve<E>(
    listener: TcpListener,
    endpoint: E,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) where
    E: Endpoint + 'static,
{
    let endpoint = Arc::new(endpoint.map_to_response());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(MIN_HEADER_BYTES))
        .max_headers(limits.max_headers);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    let builder = Arc::new(builder);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut backoff = AcceptBackoff::default();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        // The semaphore is never closed.
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                backoff.reset();
                accepted
            }
            Err(error) => {
                backoff.wait(&error).await;
                continue;
            }
        };
        // Small JSON answers: send them at once.
        let _ = stream.set_nodelay(true);
        let local = stream
            .local_addr()
            .map_or_else(|_| Addr::Custom("tcp", "".into()), Addr::SocketAddr);
        let endpoint = endpoint.clone();
        let service = hyper::service::service_fn(move |request: poem::http::Request<Incoming>| {
            let endpoint = endpoint.clone();
            let local = LocalAddr(local.clone());
            let remote = RemoteAddr(Addr::SocketAddr(peer));
            async move {
                let request = poem::Request::from((request, local, remote, Scheme::HTTP));
                let response = endpoint.get_response(request).await;
                Ok::<_, Infallible>(poem::http::Response::<ResponseBody>::from(response))
            }
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(error = %error, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(grace_seconds = grace.as_secs(), "in-flight requests did not finish in time; closing them");
        }
    }
}

/// Pauses after a failed accept: the error (most often "too many open
/// files") lasts until connections close, so retrying at once would spin a
/// core. Logged once per episode, with the pause doubling up to a second.
#[derive(Default)]
struct AcceptBackoff {
    pause: Option<Duration>,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(10);
    const LONGEST: Duration = Duration::from_secs(1);

    async fn wait(&mut self, error: &std::io::Error) {
        let pause = match self.pause {
            None => {
                tracing::warn!(error = %error, "cannot accept connections (file descriptors exhausted?); backing off until it can");
                Self::FIRST
            }
            Some(previous) => (previous * 2).min(Self::LONGEST),
        };
        self.pause = Some(pause);
        tokio::time::sleep(pause).await;
    }

    fn reset(&mut self) {
        if self.pause.take().is_some() {
            tracing::info!("accepting connections again");
        }
    }
}
