//! The headers every answer on the API's paths carries (`no-store`, the
//! bare JSON media type), and the challenge of a `401` under `basic_auth`.

use poem::Response;
use poem::http::StatusCode;
use poem::http::header::{self, HeaderValue};

/// The `WWW-Authenticate` challenge of a `401` when the active policy
/// takes an email and a password with each request.
const BASIC_CHALLENGE: &str = "Basic realm=\"session-auth\"";

/// Responses carry users and sessions: no cache, shared or private, may
/// keep them. The Flask API's jsonify sent a bare `application/json`; some
/// clients compare the header whole (JSON is UTF-8 by definition).
pub(super) fn api_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
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

/// Invites HTTP Basic credentials on a `401`, when `accepts_basic`.
pub(super) fn challenge(response: &mut Response, accepts_basic: bool) {
    if accepts_basic && response.status() == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(BASIC_CHALLENGE),
        );
    }
}
