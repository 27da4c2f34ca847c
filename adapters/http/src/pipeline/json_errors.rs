//! Every error leaves as `{"error": …}`: a framework error (a body that
//! could not be read, a caught panic) gets a JSON body in place of its
//! text.

use poem::Response;
use poem::http::StatusCode;
use poem::http::header;

use crate::error::error_response;

/// `response` itself unless it is an error without a JSON body; then the
/// same status and headers with `{"error": …}`.
pub(super) fn json_error_body(response: Response) -> Response {
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
