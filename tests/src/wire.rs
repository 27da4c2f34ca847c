//! The contract's paths and answers (`docs/contract.md`) as the HTTP
//! suites compare them, named once for all of them: the routes they call
//! most, the error bodies, the CORS header, and a form login's answer.

use serde_json::{Value, json};

use crate::http_harness::{Reply, Service};

/// `POST`: a form login.
pub const LOGIN: &str = "/api/v1/auth_session/login";
/// `DELETE`: ends the cookie's session.
pub const LOGOUT: &str = "/api/v1/auth_session/logout";
/// The current user's sessions.
pub const SESSIONS: &str = "/api/v1/auth_session/sessions";
/// The current user.
pub const ME: &str = "/api/v1/users/me";
/// `PUT`: the current user's password.
pub const PASSWORD: &str = "/api/v1/users/me/password";
/// Every user.
pub const USERS: &str = "/api/v1/users";

/// The error body with `message`: `{"error": message}`.
pub fn error(message: &str) -> Value {
    json!({ "error": message })
}

/// The gate's answer to a request without credentials.
pub fn unauthorized() -> Value {
    error("Unauthorized")
}

/// The gate's answer to credentials that identify no one.
pub fn forbidden() -> Value {
    error("Forbidden")
}

/// No such route or record.
pub fn not_found() -> Value {
    error("Not found")
}

/// A body that is not the JSON a route takes.
pub fn wrong_format() -> Value {
    error("Wrong format")
}

/// A login with the wrong password (`LOGIN_ERRORS=compatible`).
pub fn wrong_password() -> Value {
    error("wrong password")
}

/// A login with an unknown email (`LOGIN_ERRORS=compatible`).
pub fn no_user() -> Value {
    error("no user found for this email")
}

/// A method the route does not serve.
pub fn method_not_allowed() -> Value {
    error("Method not allowed")
}

/// Every `/api/v1/*` answer admits any origin.
#[track_caller]
pub fn assert_cors(reply: &Reply) {
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("*"),
        "{}: {} without Access-Control-Allow-Origin",
        reply.request,
        reply.status
    );
}

/// A form login with `email` and `password`: the status and the body.
pub async fn login_reply(service: &Service, email: &str, password: &str) -> (u16, Value) {
    let reply = service
        .post(LOGIN)
        .form(&[("email", email), ("password", password)])
        .send()
        .await;
    (reply.status.as_u16(), reply.json())
}
