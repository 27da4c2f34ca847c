//! CORS: the preflight is answered before the gate, and every answer on
//! the API's paths lets any origin read it.

use poem::http::header::{self, HeaderValue};
use poem::http::{Method, StatusCode};
use poem::{Request, Response};

/// Whether `path` is one of the API's (under `/api/v1`).
pub(super) fn is_api_path(path: &str) -> bool {
    path == "/api/v1" || path.starts_with("/api/v1/")
}

/// The answer to a CORS preflight for one of the API's paths, if `req` is
/// one. Browsers send it without credentials, so gating it (as the Flask
/// API did) broke every cross-origin client.
pub(super) fn preflight(req: &Request) -> Option<Response> {
    let is_preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if !is_preflight || !is_api_path(req.uri().path()) {
        return None;
    }
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
    Some(response)
}

/// Lets any origin read an answer on the API's paths.
pub(super) fn allow_any_origin(response: &mut Response) {
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}
