//! What is answered outside the API, before the gate (a load balancer or a
//! scraper holds no credentials) and off the access log: the probes
//! (`/healthz`, `/readyz`) and `GET /metrics`, on the API's port or on a
//! listener of its own.

use poem::http::Method;
use poem::{Endpoint, IntoResponse, Request, Response};
use std::sync::Arc;

use crate::error::ApiError;
use crate::observe::{ACCESS_TARGET, Metrics, MetricsExposure, liveness};

/// The answer to a probe or a scrape on the API's port; `None` for any
/// other request.
pub(super) async fn answer(
    req: &Request,
    metrics: &Metrics,
    exposure: MetricsExposure,
) -> Option<Response> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return None;
    }
    let path = req.uri().path();
    let response = match path {
        "/healthz" => liveness(),
        "/readyz" => metrics.readiness().await,
        "/metrics" if exposure == MetricsExposure::ApiPort => metrics.render().await,
        "/metrics" => ApiError::not_found().into_response(),
        _ => return None,
    };
    tracing::debug!(target: ACCESS_TARGET, path = %path, status = response.status().as_u16(), "probe");
    Some(response)
}

/// `GET /metrics` (and `/healthz`) on a listener of its own
/// (`METRICS_ADDR`).
pub struct MetricsEndpoint {
    metrics: Arc<Metrics>,
}

impl MetricsEndpoint {
    pub(super) fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl Endpoint for MetricsEndpoint {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        Ok(match (req.method(), req.uri().path()) {
            (&Method::GET | &Method::HEAD, "/metrics") => self.metrics.render().await,
            (&Method::GET | &Method::HEAD, "/healthz") => liveness(),
            _ => ApiError::not_found().into_response(),
        })
    }
}
