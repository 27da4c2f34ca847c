//! What runs around every route: trailing-slash tolerance, CORS, the
//! authentication gate (before routing, as in the Flask API), JSON bodies
//! for every error, and the access log.

use poem::endpoint::BoxEndpoint;
use poem::endpoint::make_sync;
use poem::error::{MethodNotAllowedError, NotFoundError};
use poem::http::header::{self, HeaderValue};
use poem::http::{Method, StatusCode, Uri};
use poem::middleware::CatchPanic;
use poem::{Body, Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::OpenApiService;
use std::sync::Arc;
use std::time::Instant;

use domain::{Credentials, Gate, GateDecision, SessionToken};

use crate::api::Api;
use crate::docs::{AllowedMethods, Documents};
use crate::error::ApiError;
use crate::extract::GateContext;
use crate::{DOCS_PATH, HttpSettings, OPENAPI_PATH, Services};

/// The complete HTTP service as one poem endpoint.
pub struct ServiceEndpoint {
    routes: BoxEndpoint<'static>,
    gate: Gate,
    session_name: String,
    allowed: AllowedMethods,
}

impl ServiceEndpoint {
    pub(crate) fn new(services: Services, settings: HttpSettings) -> Self {
        let gate = services.gate.clone();
        let session_name = settings.session_name.clone();
        let service = OpenApiService::new(Api::new(services, settings), "session-auth", env!("CARGO_PKG_VERSION"))
            .description("User and session authentication, compatible with the Flask \"Session authentication\" API.");
        let Documents {
            spec,
            swagger_html,
            allowed,
        } = Documents::new(&service, &session_name);
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
        }
    }

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

    async fn dispatch(&self, mut req: Request, path: &str) -> Response {
        let decision = {
            let credentials = Credentials {
                // An unreadable header is still a header: it identifies no
                // one (403), it is not absent (401).
                authorization: req
                    .headers()
                    .get(header::AUTHORIZATION)
                    .map(|v| v.to_str().unwrap_or("")),
                session_cookie: self.session_cookie(&req),
            };
            let decision = self.gate.check(path, &credentials).await;
            let token = credentials.session_cookie.map(SessionToken::from_cookie);
            (decision, token)
        };
        match decision {
            (Err(failure), _) => ApiError::from(failure).into_response(),
            (Ok(GateDecision::Unauthorized), _) => ApiError::unauthorized().into_response(),
            (Ok(GateDecision::Forbidden), _) => ApiError::forbidden().into_response(),
            (Ok(GateDecision::Pass(user)), session_token) => {
                req.extensions_mut().insert(GateContext {
                    user: user.map(Arc::new),
                    session_token,
                });
                let response = match self.routes.call(req).await {
                    Ok(response) => response,
                    Err(error) if error.is::<NotFoundError>() => {
                        ApiError::not_found().into_response()
                    }
                    Err(error) if error.is::<MethodNotAllowedError>() => {
                        self.method_not_allowed(path)
                    }
                    Err(error) => error.into_response(),
                };
                json_error_body(response)
            }
        }
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

fn bytes_of(text: String) -> bytes::Bytes {
    bytes::Bytes::from(text.into_bytes())
}

fn error_response(status: StatusCode, message: &str) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(serde_json::json!({ "error": message }).to_string())
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
        let api = is_api_path(&path);
        let mut response = if api && is_preflight(&req) {
            preflight(&req)
        } else {
            self.dispatch(req, &path).await
        };
        if api {
            response.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
        tracing::info!(
            method = %method,
            path = %path,
            status = response.status().as_u16(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "request"
        );
        Ok(response)
    }
}
