//! What an operator watches: the Prometheus metrics, the probes'
//! answers (`/healthz`, `/readyz`) and the security events. The
//! `process_*` families (CPU, memory, descriptors, start time) come from
//! the prometheus crate's own process collector, under their standard
//! names; `live_sessions` is exported only when the session store counted
//! them (every store in the tree does), never as a 0 that means nothing.
//!
//! The probes and the metrics are answered before the gate: a load
//! balancer or a scraper holds no credentials.

use poem::http::header;
use poem::http::{Method, StatusCode};
use poem::{Body, Response};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use std::sync::Arc;
use std::time::Duration;

use domain::Housekeeping;

/// The log target of the access lines.
pub const ACCESS_TARGET: &str = "session_auth::access";

/// How long `/readyz` waits for the storage before calling it not ready.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Reports how many password hashes wait for a worker (Argon2 queue depth).
pub type QueueDepth = Arc<dyn Fn() -> usize + Send + Sync>;

/// Where `GET /metrics` is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MetricsExposure {
    /// Nowhere (the default).
    #[default]
    Off,
    /// On the API's own port, at `/metrics`.
    ApiPort,
    /// On a separate listener only ([`crate::ServiceEndpoint::metrics_endpoint`]).
    Separate,
}

/// The service's metrics, in a registry of their own.
pub(crate) struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    logins: IntCounterVec,
    throttled: IntCounter,
    storage_errors: IntCounter,
    live_sessions: IntGauge,
    /// Only `live_sessions`, gathered when the store counted them.
    counted: Registry,
    /// The process collector, under the standard unprefixed names.
    process: Registry,
    argon2_queue: IntGauge,
    queue_depth: Option<QueueDepth>,
    housekeeping: Arc<dyn Housekeeping>,
}

/// Registers a collector made by `make`; the names are constants, so a
/// failure here is a programming error caught by the tests.
fn registered<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    made: prometheus::Result<C>,
) -> C {
    #[allow(clippy::expect_used, reason = "constant metric definitions, tested")]
    let collector = made.expect("metric definitions are valid");
    #[allow(clippy::expect_used, reason = "constant metric definitions, tested")]
    registry
        .register(Box::new(collector.clone()))
        .expect("metric names are unique");
    collector
}

impl Metrics {
    pub(crate) fn new(housekeeping: Arc<dyn Housekeeping>) -> Self {
        let registry = Registry::new_custom(Some("session_auth".into()), None)
            .unwrap_or_else(|_| Registry::new());
        let requests = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "http_requests_total",
                    "HTTP requests by route, method and status.",
                ),
                &["route", "method", "status"],
            ),
        );
        let latency = registered(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "http_request_duration_seconds",
                    "Time to answer an HTTP request, by route and method.",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ]),
                &["route", "method"],
            ),
        );
        let logins = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "logins_total",
                    "Form logins by outcome: success, failure, throttled, invalid, error.",
                ),
                &["outcome"],
            ),
        );
        let throttled = registered(
            &registry,
            IntCounter::new(
                "throttled_attempts_total",
                "Password checks refused with 429 by the brute-force limits.",
            ),
        );
        let storage_errors = registered(
            &registry,
            IntCounter::new(
                "storage_errors_total",
                "Requests and probes that failed because the storage did not answer.",
            ),
        );
        let counted = Registry::new_custom(Some("session_auth".into()), None)
            .unwrap_or_else(|_| Registry::new());
        let live_sessions = registered(
            &counted,
            IntGauge::new(
                "live_sessions",
                "Sessions that are neither expired nor idle.",
            ),
        );
        let process = Registry::new();
        #[cfg(target_os = "linux")]
        if let Err(error) = process.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        )) {
            tracing::warn!(error = %error, "metrics: no process metrics");
        }
        let argon2_queue = registered(
            &registry,
            IntGauge::new(
                "argon2_queue_depth",
                "Password hashes and verifications waiting for or running on an Argon2 worker.",
            ),
        );
        Self {
            registry,
            requests,
            latency,
            logins,
            throttled,
            storage_errors,
            live_sessions,
            counted,
            process,
            argon2_queue,
            queue_depth: None,
            housekeeping,
        }
    }

    pub(crate) fn set_queue_depth(&mut self, probe: QueueDepth) {
        self.queue_depth = Some(probe);
    }

    /// Counts one answered request.
    pub(crate) fn observe(
        &self,
        method: &Method,
        path: &str,
        status: StatusCode,
        elapsed: Duration,
    ) {
        let route = route_label(path);
        let method = method_label(method);
        self.requests
            .with_label_values(&[route, method, status.as_str()])
            .inc();
        self.latency
            .with_label_values(&[route, method])
            .observe(elapsed.as_secs_f64());
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.throttled.inc();
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            self.storage_errors.inc();
        }
        if route == LOGIN_ROUTE && method == "POST" {
            let outcome = match status.as_u16() {
                200 => "success",
                401 | 404 => "failure",
                429 => "throttled",
                400 | 413 => "invalid",
                _ => "error",
            };
            self.logins.with_label_values(&[outcome]).inc();
        }
    }

    /// The exposition in the Prometheus text format, gauges refreshed.
    pub(crate) async fn render(&self) -> Response {
        let mut families = Vec::new();
        match self.housekeeping.live_sessions().await {
            Ok(Some(live)) => {
                self.live_sessions
                    .set(i64::try_from(live).unwrap_or(i64::MAX));
                families.extend(self.counted.gather());
            }
            Ok(None) => {}
            Err(error) => {
                self.storage_errors.inc();
                tracing::warn!(error = %error, "metrics: could not count live sessions");
            }
        }
        if let Some(probe) = &self.queue_depth {
            self.argon2_queue
                .set(i64::try_from(probe()).unwrap_or(i64::MAX));
        }
        let encoder = TextEncoder::new();
        let mut text = Vec::new();
        families.extend(self.registry.gather());
        families.extend(self.process.gather());
        families.sort_by(|a, b| a.name().cmp(b.name()));
        if let Err(error) = encoder.encode(&families, &mut text) {
            tracing::error!(error = %error, "metrics: cannot encode");
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot encode the metrics\n",
            );
        }
        Response::builder()
            .status(StatusCode::OK)
            .content_type(encoder.format_type())
            .header(header::CACHE_CONTROL, "no-store")
            .body(Body::from_vec(text))
    }

    /// `GET /readyz`: 200 when the storage answers, 503 with the reason
    /// otherwise.
    pub(crate) async fn readiness(&self) -> Response {
        let reason = match tokio::time::timeout(READY_TIMEOUT, self.housekeeping.ping()).await {
            Ok(Ok(())) => return probe_json(StatusCode::OK, "ready", None),
            // "storage unavailable: connection refused (…)": the cause the
            // storage adapter names, so an operator knows what to fix.
            Ok(Err(failure)) => match std::error::Error::source(&failure) {
                Some(cause) => format!("{failure}: {cause}"),
                None => failure.to_string(),
            },
            Err(_) => format!(
                "storage did not answer within {} s",
                READY_TIMEOUT.as_secs()
            ),
        };
        self.storage_errors.inc();
        tracing::warn!(reason = %reason, "not ready");
        probe_json(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            Some(&reason),
        )
    }
}

/// `GET /healthz`: the process is up and answering.
pub(crate) fn liveness() -> Response {
    probe_json(StatusCode::OK, "ok", None)
}

fn probe_json(status: StatusCode, word: &str, reason: Option<&str>) -> Response {
    let body = match reason {
        Some(reason) => serde_json::json!({ "status": word, "reason": reason }),
        None => serde_json::json!({ "status": word }),
    };
    Response::builder()
        .status(status)
        .content_type("application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(body.to_string())
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    Response::builder()
        .status(status)
        .content_type("text/plain; charset=utf-8")
        .body(text)
}

const LOGIN_ROUTE: &str = "/api/v1/auth_session/login";

/// The route template of a path, so ids do not make one series per user;
/// paths that are no route share `other`.
pub(crate) fn route_label(path: &str) -> &'static str {
    const FIXED: &[&str] = &[
        "/api/v1/status",
        "/api/v1/stats",
        "/api/v1/unauthorized",
        "/api/v1/forbidden",
        "/api/v1/users",
        "/api/v1/users/me",
        "/api/v1/users/me/password",
        LOGIN_ROUTE,
        "/api/v1/auth_session/logout",
        "/api/v1/auth_session/sessions",
        "/api/v1/docs",
        "/api/v1/openapi.json",
    ];
    if let Some(fixed) = FIXED.iter().find(|fixed| **fixed == path) {
        return fixed;
    }
    // One non-empty segment after a prefix, read in place: this runs on
    // every request.
    let relative = path.trim_start_matches('/');
    let one_segment_after = |prefix: &str| {
        relative
            .strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
    };
    if one_segment_after("api/v1/users/") {
        "/api/v1/users/:user_id"
    } else if one_segment_after("api/v1/auth_session/sessions/") {
        "/api/v1/auth_session/sessions/:handle"
    } else {
        "other"
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_paths_share_one_route_label() {
        assert_eq!(
            route_label("/api/v1/users/5a6c4f8e-2a0c-4b8e-9a53-0c1c8f5e3d21"),
            "/api/v1/users/:user_id"
        );
        assert_eq!(route_label("/api/v1/users/me"), "/api/v1/users/me");
        assert_eq!(route_label("/api/v1/nothing/here"), "other");
        assert_eq!(route_label("/wp-admin"), "other");
        assert_eq!(
            route_label("/api/v1/auth_session/sessions/abc"),
            "/api/v1/auth_session/sessions/:handle"
        );
        assert_eq!(route_label("/api/v1/users/a/b"), "other");
        assert_eq!(route_label("/api/v1/users/"), "other");
    }
}
