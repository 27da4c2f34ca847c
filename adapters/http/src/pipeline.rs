//! What runs around every route, as named steps in the order
//! [`ServiceEndpoint::call`] shows: trailing-slash tolerance, the CORS
//! preflight, the body size limit, the client's address, the
//! authentication gate (before routing, as in the Flask API), routing, JSON
//! bodies for every error, the response headers, the metrics and the access
//! log. The probes (`/healthz`, `/readyz`) and `/metrics` are answered
//! first, outside the gate.

use poem::endpoint::BoxEndpoint;
use poem::endpoint::make_sync;
use poem::error::{MethodNotAllowedError, NotFoundError};
use poem::http::header::{self, HeaderValue};
use poem::http::{Method, StatusCode, Uri};
use poem::middleware::CatchPanic;
use poem::{Addr, Body, Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::OpenApiService;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::AsyncReadExt;
use tracing::Instrument;

use domain::{Actor, Caller, ClientInfo, Credentials, Gate, GateDecision};

use crate::api::Api;
use crate::docs::{AllowedMethods, DocAuth, Documents};
use crate::error::{ApiError, error_response};
use crate::observe::{
    ACCESS_TARGET, Metrics, MetricsExposure, QueueDepth, liveness, request_id, request_id_header,
};
use crate::{DOCS_PATH, HttpSettings, OPENAPI_PATH, Services};

/// The complete HTTP service as one poem endpoint.
pub struct ServiceEndpoint {
    routes: BoxEndpoint<'static>,
    gate: Gate,
    session_name: String,
    allowed: AllowedMethods,
    body_limit: usize,
    trust_forwarded_for: bool,
    metrics: Arc<Metrics>,
    exposure: MetricsExposure,
}

impl ServiceEndpoint {
    pub(crate) fn new(services: Services, settings: HttpSettings) -> Self {
        let gate = services.gate.clone();
        let doc_auth = if gate.challenge().is_some() {
            DocAuth::Basic
        } else if services.use_cases.sign_in.opens_sessions() {
            DocAuth::Session
        } else {
            DocAuth::Nothing
        };
        let metrics = Arc::new(Metrics::new(services.use_cases.housekeeping.clone()));
        let access = services.use_cases.users.access();
        let session_name = settings.session_name.clone();
        let body_limit = settings.body_limit;
        let trust_forwarded_for = settings.trust_forwarded_for;
        let service = OpenApiService::new(Api::new(services, settings), "session-auth", env!("CARGO_PKG_VERSION"))
            .description("User and session authentication, compatible with the Flask \"Session authentication\" API.");
        let Documents {
            spec,
            swagger_html,
            allowed,
        } = Documents::new(&service, &session_name, doc_auth, access);
        let spec = bytes_of(spec);
        let swagger_html = bytes_of(swagger_html);
        let routes = Route::new()
            .at(
                OPENAPI_PATH,
                make_sync(move |_| {
                    Response::builder()
                        .content_type("application/json; charset=utf-8")
                        .body(Body::from_bytes(spec.clone()))
                }),
            )
            .at(
                DOCS_PATH,
                make_sync(move |_| {
                    Response::builder()
                        .content_type("text/html; charset=utf-8")
                        .body(Body::from_bytes(swagger_html.clone()))
                }),
            )
            .nest("/", service)
            .with(CatchPanic::new())
            .boxed();
        Self {
            routes,
            gate,
            session_name,
            allowed,
            body_limit,
            trust_forwarded_for,
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
        MetricsEndpoint {
            metrics: self.metrics.clone(),
        }
    }

    /// `/healthz`, `/readyz` and `/metrics`: answered before the gate
    /// (probes and scrapers hold no credentials); `None` for other paths.
    async fn probe(&self, req: &Request, path: &str) -> Option<Response> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return None;
        }
        match path {
            "/healthz" => Some(liveness()),
            "/readyz" => Some(self.metrics.readiness().await),
            "/metrics" if self.exposure == MetricsExposure::ApiPort => {
                Some(self.metrics.render().await)
            }
            "/metrics" => Some(ApiError::not_found().into_response()),
            _ => None,
        }
    }
    /// The client's address and `User-Agent`. `X-Forwarded-For` is only
    /// believed when configured: without a proxy that sets it, any client
    /// could claim any address and escape the per-address throttle.
    fn client_info(&self, req: &Request, request_id: &str) -> ClientInfo {
        let forwarded_for = if self.trust_forwarded_for {
            req.headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
        } else {
            None
        };
        ClientInfo {
            address: client_address(req.remote_addr(), forwarded_for),
            user_agent: req
                .headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .map(str::to_owned),
            request_id: Some(request_id.to_owned()),
        }
    }

    /// Refuses a body over the limit before anything reads it. A declared
    /// length is trusted (the server enforces it); a body without one is
    /// read here, at most one byte past the limit, and handed on as read.
    async fn limit_body(&self, req: &mut Request) -> Result<(), Response> {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let limit = u64::try_from(self.body_limit).unwrap_or(u64::MAX);
        if let Some(length) = declared {
            return if length > limit {
                Err(ApiError::payload_too_large().into_response())
            } else {
                Ok(())
            };
        }
        let body = req.take_body();
        if body.is_empty() {
            req.set_body(body);
            return Ok(());
        }
        let mut read = Vec::new();
        let outcome = body
            .into_async_read()
            .take(limit.saturating_add(1))
            .read_to_end(&mut read)
            .await;
        match outcome {
            Err(error) => {
                tracing::debug!(error = %error, "could not read a request body");
                Err(ApiError::bad_request("Bad request").into_response())
            }
            Ok(_) if read.len() > self.body_limit => {
                Err(ApiError::payload_too_large().into_response())
            }
            Ok(_) => {
                req.set_body(read);
                Ok(())
            }
        }
    }

    /// The value of the session cookie: the one place a request's cookie
    /// is read.
    fn session_cookie<'r>(&self, req: &'r Request) -> Option<&'r str> {
        req.headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.session_name)
            .map(|(_, value)| value.trim_matches('"'))
    }

    /// The gate: who is calling, or the refusal (401, 403, 429, 5xx).
    async fn authenticate(
        &self,
        req: &Request,
        path: &str,
        client: ClientInfo,
    ) -> Result<Caller, Response> {
        let credentials = Credentials {
            // An unreadable header is still a header: it identifies no one
            // (403), it is not absent (401).
            authorization: req
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.to_str().unwrap_or("")),
            session_cookie: self.session_cookie(req),
        };
        let refusal = match self
            .gate
            .check(req.method().as_str(), path, &credentials, client)
            .await
        {
            Ok(GateDecision::Pass(caller)) => return Ok(caller),
            Ok(GateDecision::Unauthorized) => ApiError::unauthorized(),
            // Failed and throttled password checks are audited by the core.
            Ok(GateDecision::Forbidden) => ApiError::forbidden(),
            Ok(GateDecision::TooManyAttempts(wait)) => ApiError::too_many_attempts(wait),
            Err(failure) => ApiError::from(failure),
        };
        Err(refusal.into_response())
    }

    /// The route, with the framework's 404 and 405 in the API's shape.
    async fn route(&self, req: Request, path: &str) -> Response {
        match self.routes.call(req).await {
            Ok(response) => response,
            Err(error) if error.is::<NotFoundError>() => ApiError::not_found().into_response(),
            Err(error) if error.is::<MethodNotAllowedError>() => self.method_not_allowed(path),
            Err(error) => error.into_response(),
        }
    }

    /// Everything up to the route's answer; `Err` is an answer given
    /// before the route ran.
    /// `user` receives the id of the authenticated user, for the access
    /// line.
    async fn respond(
        &self,
        mut req: Request,
        path: &str,
        client: ClientInfo,
        user: &mut Option<String>,
    ) -> Result<Response, Response> {
        if is_api_path(path) && is_preflight(&req) {
            return Ok(preflight(&req));
        }
        self.limit_body(&mut req).await?;
        let caller = self.authenticate(&req, path, client).await?;
        *user = caller.user.as_ref().map(|u| u.id.to_string());
        req.extensions_mut()
            .insert(Arc::new(Actor::of_request(caller)));
        Ok(self.route(req, path).await)
    }

    /// The headers every answer carries: CORS, `no-store` and the bare JSON
    /// media type on the API's paths, and the policy's challenge on a 401.
    fn finish_headers(&self, mut response: Response, path: &str) -> Response {
        if is_api_path(path) {
            let headers = response.headers_mut();
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            // Responses carry users and sessions: no cache, shared or
            // private, may keep them.
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            // The Flask API's jsonify sent a bare `application/json`; some
            // clients compare the header whole. JSON is UTF-8 by definition.
            if headers
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v == "application/json; charset=utf-8")
            {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
        }
        if response.status() == StatusCode::UNAUTHORIZED
            && let Some(challenge) = self.gate.challenge()
        {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }

    fn method_not_allowed(&self, path: &str) -> Response {
        let allowed = self.allowed.for_path(path);
        if allowed.is_empty() {
            return ApiError::not_found().into_response();
        }
        let allow = allowed
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        error_response(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
            .with_header(header::ALLOW, allow)
            .into_response()
    }
}

/// The client's address: the first `X-Forwarded-For` entry when one is
/// given (only when the proxy is trusted) and is an IP address, else the
/// TCP peer's IP. Ports are dropped: they change with every connection and
/// would split one client into many for the throttle.
fn client_address(peer: &Addr, forwarded_for: Option<&str>) -> Option<String> {
    forwarded_for
        .and_then(first_forwarded_ip)
        .or_else(|| peer.as_socket_addr().map(SocketAddr::ip))
        .map(|ip| ip.to_canonical().to_string())
}

/// The first hop of `X-Forwarded-For`: a bare IP, `ip:port`, `[v6]` or
/// `[v6]:port`. Anything else (`unknown`, a name) is no address.
fn first_forwarded_ip(header: &str) -> Option<IpAddr> {
    let first = header.split(',').next()?.trim();
    first
        .parse::<IpAddr>()
        .ok()
        .or_else(|| first.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            first
                .strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<IpAddr>()
                .ok()
        })
}

fn bytes_of(text: String) -> bytes::Bytes {
    bytes::Bytes::from(text.into_bytes())
}

/// Every error leaves as `{"error": …}`: a framework error (a body that
/// could not be read, a caught panic) gets a JSON body in place of its text.
fn json_error_body(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let message = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed",
        StatusCode::INTERNAL_SERVER_ERROR => {
            tracing::error!("a route failed without a JSON answer (panic or framework error)");
            "Internal server error"
        }
        StatusCode::SERVICE_UNAVAILABLE => "Service unavailable",
        other => other.canonical_reason().unwrap_or("Bad request"),
    };
    let mut replaced = error_response(status, message);
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replaced.headers_mut().append(name.clone(), value.clone());
        }
    }
    replaced
}

/// `/api/v1/users/` and `/api/v1/users` are the same route.
fn strip_trailing_slash(req: &mut Request) {
    let path = req.uri().path();
    if path.len() <= 1 || !path.ends_with('/') {
        return;
    }
    let trimmed = path.trim_end_matches('/');
    let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
    let path_and_query = match req.uri().query() {
        Some(query) => format!("{trimmed}?{query}"),
        None => trimmed.to_owned(),
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
}

fn is_preflight(req: &Request) -> bool {
    req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// Answers a CORS preflight before the gate: browsers send it without
/// credentials, so gating it (as the Flask API did) broke every
/// cross-origin client.
fn preflight(req: &Request) -> Response {
    let mut response = Response::builder()
        .status(StatusCode::OK)
        .header(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
        )
        .header(header::ACCESS_CONTROL_MAX_AGE, "600")
        .finish();
    if let Some(requested) = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        response
            .headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
    }
    response
}

fn is_api_path(path: &str) -> bool {
    path == "/api/v1" || path.starts_with("/api/v1/")
}

impl Endpoint for ServiceEndpoint {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let started = Instant::now();
        strip_trailing_slash(&mut req);
        let path = req.uri().path().to_owned();
        let method = req.method().clone();
        if let Some(response) = self.probe(&req, &path).await {
            tracing::debug!(target: ACCESS_TARGET, path = %path, status = response.status().as_u16(), "probe");
            return Ok(response);
        }
        let request_id = request_id(&req);
        let client = self.client_info(&req, &request_id);
        let line = AccessLine {
            request_id: &request_id,
            client: client.address.clone(),
            method: &method,
            path: &path,
            user: None,
        };
        let span = tracing::info_span!("request", request_id = %request_id);
        let mut user = None;
        let response = self
            .respond(req, &path, client, &mut user)
            .instrument(span)
            .await
            .unwrap_or_else(|early| early);
        let mut response = self.finish_headers(json_error_body(response), &path);
        if let Some(value) = request_id_header(&request_id) {
            response.headers_mut().insert("x-request-id", value);
        }
        let elapsed = started.elapsed();
        self.metrics
            .observe(&method, &path, response.status(), elapsed);
        AccessLine { user, ..line }.log(response.status(), elapsed);
        Ok(response)
    }
}

/// What the access line says about a request.
struct AccessLine<'a> {
    request_id: &'a str,
    client: Option<String>,
    method: &'a Method,
    path: &'a str,
    user: Option<String>,
}

impl AccessLine<'_> {
    /// One line per request.
    fn log(&self, status: StatusCode, elapsed: std::time::Duration) {
        tracing::info!(
            target: ACCESS_TARGET,
            request_id = %self.request_id,
            client = self.client.as_deref(),
            user_id = self.user.as_deref(),
            method = %self.method,
            path = %self.path,
            status = status.as_u16(),
            elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            "request"
        );
    }
}

/// `GET /metrics` on a listener of its own (`METRICS_ADDR`).
pub struct MetricsEndpoint {
    metrics: Arc<Metrics>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> Addr {
        Addr::SocketAddr(SocketAddr::from(([10, 0, 0, 7], 51234)))
    }

    #[test]
    fn the_address_is_the_peer_ip_without_its_port() {
        assert_eq!(client_address(&peer(), None).as_deref(), Some("10.0.0.7"));
    }

    #[test]
    fn the_first_forwarded_entry_wins_over_the_peer() {
        let forwarded = Some("203.0.113.9, 10.0.0.1");
        assert_eq!(
            client_address(&peer(), forwarded).as_deref(),
            Some("203.0.113.9")
        );
    }

    #[test]
    fn forwarded_entries_with_ports_or_brackets_are_read() {
        assert_eq!(
            first_forwarded_ip("203.0.113.9:443"),
            "203.0.113.9".parse().ok()
        );
        assert_eq!(
            first_forwarded_ip("[2001:db8::1]:80"),
            "2001:db8::1".parse().ok()
        );
        assert_eq!(
            first_forwarded_ip("[2001:db8::1]"),
            "2001:db8::1".parse().ok()
        );
    }

    #[test]
    fn a_forwarded_entry_that_is_no_ip_falls_back_to_the_peer() {
        assert_eq!(
            client_address(&peer(), Some("unknown, 203.0.113.9")).as_deref(),
            Some("10.0.0.7")
        );
        assert_eq!(
            client_address(&peer(), Some("")).as_deref(),
            Some("10.0.0.7")
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_peers_read_as_ipv4() {
        let mapped: SocketAddr = "[::ffff:192.0.2.1]:80".parse().unwrap();
        assert_eq!(
            client_address(&Addr::SocketAddr(mapped), None).as_deref(),
            Some("192.0.2.1")
        );
    }

    #[test]
    fn a_peer_without_an_ip_has_no_address() {
        assert_eq!(client_address(&Addr::default(), None), None);
    }
}
