//! What runs around every route, as one chain that reads top to bottom in
//! [`ServiceEndpoint::call`]: trailing-slash tolerance, the probes, the
//! client's address, the request id, the CORS preflight, the body size
//! limit, the authentication gate (before routing, as in the Flask API),
//! routing (these last three within the request deadline, `503` when it
//! runs out), JSON bodies for every error, the response headers, the
//! metrics and the access log. Each step lives in a file of its own.
//!
//! The steps are plain calls in one `async fn`, not a stack of poem
//! middlewares: each middleware layer keeps the request (488 bytes) in its
//! own future and nests the next layer's, so ten trivial layers around the
//! routes alone make a 12 KB future, moved about on every request, where
//! this whole chain's, routes included, is under 6 KB. Data one step hands
//! a later one (the client's address, the identified user) stays in local
//! variables, with no request extension to allocate.

mod access_log;
mod body_limit;
mod client;
mod cors;
mod credentials;
mod gate;
mod headers;
mod json_errors;
mod probes;
mod public;
mod request_id;
mod routes;
mod slash;

use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::OpenApiService;
use std::net::IpAddr;
use std::sync::Arc;
use tracing::Instrument;

use domain::UserId;

use crate::api::Api;
use crate::docs::{self, DocAuth, Documents};
use crate::error::ApiError;
use crate::observe::{Metrics, MetricsExposure, QueueDepth};
use crate::recovery_api::RecoveryApi;
use crate::{HttpSettings, Services};

use access_log::AccessLine;
use body_limit::BodyLimit;
use client::ClientAddress;
use gate::Admission;
pub use probes::MetricsEndpoint;
use request_id::RequestId;
use routes::Routes;

/// The complete HTTP service as one poem endpoint.
pub struct ServiceEndpoint {
    routes: Routes,
    admission: Admission,
    body_limit: BodyLimit,
    deadline: std::time::Duration,
    client: ClientAddress,
    metrics: Arc<Metrics>,
    exposure: MetricsExposure,
}

impl ServiceEndpoint {
    pub(crate) fn new(services: Services, settings: HttpSettings) -> Self {
        let access = services.use_cases.users.access();
        let doc_auth = if services.gate.accepts_basic() {
            DocAuth::Basic
        } else if services.use_cases.sign_in.opens_sessions() {
            DocAuth::Session
        } else {
            DocAuth::Nothing
        };
        let metrics = Arc::new(Metrics::new(services.use_cases.housekeeping.clone()));
        let admission =
            Admission::new(services.gate.clone(), access, settings.session_name.clone());
        let body_limit = BodyLimit::new(settings.body_limit);
        let deadline = settings.request_timeout;
        let client = ClientAddress::new(settings.trust_forwarded_for);
        let session_name = settings.session_name.clone();
        let recovery = RecoveryApi::new(services.use_cases.recovery.clone());
        let service = OpenApiService::new(
            (Api::new(services, settings), recovery),
            "session-auth",
            env!("CARGO_PKG_VERSION"),
        )
        .description(docs::SERVICE);
        let documents = Documents::new(&service, &session_name, doc_auth, access);
        Self {
            routes: Routes::new(service, documents),
            admission,
            body_limit,
            deadline,
            client,
            metrics,
            exposure: MetricsExposure::Off,
        }
    }

    /// Where `GET /metrics` is answered, and the probe of the Argon2 queue
    /// depth it reports.
    #[must_use]
    pub fn with_metrics(
        mut self,
        exposure: MetricsExposure,
        queue_depth: Option<QueueDepth>,
    ) -> Self {
        self.exposure = exposure;
        if let (Some(probe), Some(metrics)) = (queue_depth, Arc::get_mut(&mut self.metrics)) {
            metrics.set_queue_depth(probe);
        }
        self
    }

    /// An endpoint answering only `GET /metrics` (and the probes), for a
    /// separate listener (`METRICS_ADDR`).
    pub fn metrics_endpoint(&self) -> MetricsEndpoint {
        MetricsEndpoint::new(self.metrics.clone())
    }

    /// The steps that may answer before the route, then the route (for
    /// `path`); with the user the gate identified, for the access line.
    async fn respond(
        &self,
        mut req: Request,
        ip: Option<IpAddr>,
        path: &str,
        request_id: &str,
    ) -> (Response, Option<UserId>) {
        if let Some(answer) = cors::preflight(&req) {
            return (answer, None);
        }
        if let Err(refusal) = self.body_limit.apply(&mut req).await {
            return (refusal, None);
        }
        let actor = match self.admission.admit(&req, ip, request_id).await {
            Ok(actor) => actor,
            Err(refusal) => return (refusal, None),
        };
        let user = actor.user().map(|user| user.id);
        req.extensions_mut().insert(Arc::new(actor));
        (self.routes.answer(req, path).await, user)
    }
}

impl Endpoint for ServiceEndpoint {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        slash::strip_trailing_slash(&mut req);
        if let Some(answer) = probes::answer(&req, &self.metrics, self.exposure).await {
            return Ok(answer);
        }
        let ip = self.client.ip(&req);
        let line = AccessLine::begin(&req, ip);
        let request_id = RequestId::of(&req);
        let answer = tokio::time::timeout(
            self.deadline,
            self.respond(req, ip, line.path(), request_id.as_str()),
        )
        .instrument(request_id.span())
        .await;
        let (response, user) = answer.unwrap_or_else(|_| {
            // Dropping the route's future cancels what it waited on (a
            // statement on a database link that went silent, say).
            tracing::error!(
                request_id = request_id.as_str(),
                timeout_s = self.deadline.as_secs_f64(),
                "request timed out (REQUEST_TIMEOUT); answered 503"
            );
            (ApiError::unavailable().into_response(), None)
        });
        let mut response = json_errors::json_error_body(response);
        if cors::is_api_path(line.path()) {
            cors::allow_any_origin(&mut response);
            headers::api_headers(&mut response);
        }
        headers::challenge(&mut response, self.admission.accepts_basic());
        let elapsed = line.elapsed();
        self.metrics
            .observe(line.method(), line.path(), response.status(), elapsed);
        line.log(response.status(), request_id.as_str(), user, elapsed);
        request_id.echo(&mut response);
        Ok(response)
    }
}
