//! The one place where failures become HTTP responses.

use chrono::Duration;
use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;

use domain::service::{ChangePasswordError, CreateUserError, Failure, LoginError};

use crate::dto::ErrorBody;

/// Every error the API answers with; each variant says its status. 5xx
/// variants carry a generic body: their cause is logged, never sent.
#[derive(ApiResponse, Debug)]
pub enum ApiError {
    /// Malformed or incomplete input.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// No credentials, or (login, password change) a wrong password. Under
    /// `basic_auth` it carries `WWW-Authenticate: Basic realm="session-auth"`.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Credentials that identify no one.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such resource.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The request body is larger than the configured limit.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// Too many failed password checks for this account or client address.
    #[oai(status = 429)]
    TooManyAttempts(
        Json<ErrorBody>,
        /// Whole seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u64,
    ),
    /// An unexpected failure.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// Storage is unreachable; retry later.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

impl ApiError {
    /// `400 {"error": message}`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(Json(ErrorBody::new(message)))
    }

    /// `401 {"error": "Unauthorized"}`.
    pub fn unauthorized() -> Self {
        Self::Unauthorized(Json(ErrorBody::new("Unauthorized")))
    }

    /// `403 {"error": "Forbidden"}`.
    pub fn forbidden() -> Self {
        Self::Forbidden(Json(ErrorBody::new("Forbidden")))
    }

    /// `404 {"error": "Not found"}`.
    pub fn not_found() -> Self {
        Self::NotFound(Json(ErrorBody::new("Not found")))
    }

    /// `413 {"error": "Payload too large"}`.
    pub fn payload_too_large() -> Self {
        Self::PayloadTooLarge(Json(ErrorBody::new("Payload too large")))
    }

    /// `429 {"error": "Too many attempts"}` with `Retry-After`.
    pub fn too_many_attempts(wait: Duration) -> Self {
        Self::TooManyAttempts(
            Json(ErrorBody::new("Too many attempts")),
            retry_after_seconds(wait),
        )
    }
}

/// `Retry-After` in whole seconds, rounded up and at least 1: a client that
/// waits exactly this long must not be refused again, and `0` would invite
/// an immediate retry that is bound to fail.
fn retry_after_seconds(wait: Duration) -> u64 {
    let whole = wait.num_seconds();
    let rounded_up = if wait > Duration::seconds(whole) {
        whole.saturating_add(1)
    } else {
        whole
    };
    rounded_up.max(1).unsigned_abs()
}

impl From<Failure> for ApiError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Unavailable(source) => {
                tracing::error!(error = %source, "storage unavailable");
                Self::Unavailable(Json(ErrorBody::new("Service unavailable")))
            }
            Failure::Unexpected(source) => {
                tracing::error!(error = %source, source = ?source, "unexpected failure");
                Self::Internal(Json(ErrorBody::new("Internal server error")))
            }
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::EmailMissing => Self::bad_request("email missing"),
            LoginError::PasswordMissing => Self::bad_request("password missing"),
            LoginError::UnknownEmail => {
                Self::NotFound(Json(ErrorBody::new("no user found for this email")))
            }
            LoginError::WrongPassword => Self::Unauthorized(Json(ErrorBody::new("wrong password"))),
            LoginError::TooManyAttempts(wait) => Self::too_many_attempts(wait),
            LoginError::Failure(failure) => failure.into(),
        }
    }
}

impl From<ChangePasswordError> for ApiError {
    fn from(error: ChangePasswordError) -> Self {
        match error {
            // The domain's messages are the wire's ("current_password
            // missing", "new_password: password must be at most 128
            // characters"), so they are sent as they are.
            ChangePasswordError::CurrentMissing
            | ChangePasswordError::NewMissing
            | ChangePasswordError::Rule(_) => Self::bad_request(error.to_string()),
            ChangePasswordError::WrongPassword => {
                Self::Unauthorized(Json(ErrorBody::new("wrong password")))
            }
            ChangePasswordError::TooManyAttempts(wait) => Self::too_many_attempts(wait),
            ChangePasswordError::Failure(failure) => failure.into(),
        }
    }
}

impl From<CreateUserError> for ApiError {
    fn from(error: CreateUserError) -> Self {
        match error {
            CreateUserError::EmailMissing => Self::bad_request("email missing"),
            CreateUserError::PasswordMissing => Self::bad_request("password missing"),
            CreateUserError::DuplicateEmail => {
                Self::bad_request("Can't create User: email already exists")
            }
            CreateUserError::Rule(rule) => Self::bad_request(format!("Can't create User: {rule}")),
            CreateUserError::Failure(failure) => failure.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::password::PasswordRuleError;
    use poem::IntoResponse;

    #[test]
    fn retry_after_rounds_a_fraction_up() {
        assert_eq!(retry_after_seconds(Duration::milliseconds(1500)), 2);
        assert_eq!(retry_after_seconds(Duration::seconds(30)), 30);
    }

    #[test]
    fn retry_after_is_never_below_one_second() {
        assert_eq!(retry_after_seconds(Duration::zero()), 1);
        assert_eq!(retry_after_seconds(Duration::milliseconds(1)), 1);
        assert_eq!(retry_after_seconds(Duration::seconds(-5)), 1);
    }

    #[test]
    fn too_many_attempts_is_429_with_retry_after() {
        let response =
            ApiError::from(LoginError::TooManyAttempts(Duration::seconds(90))).into_response();
        assert_eq!(response.status().as_u16(), 429);
        assert_eq!(
            response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("90")
        );
    }

    #[test]
    fn password_rule_errors_keep_the_domain_message() {
        let ApiError::BadRequest(Json(body)) =
            ApiError::from(ChangePasswordError::Rule(PasswordRuleError::TooLong(128)))
        else {
            panic!("not a 400");
        };
        assert_eq!(
            body.error,
            "new_password: password must be at most 128 characters"
        );
        let ApiError::BadRequest(Json(body)) =
            ApiError::from(CreateUserError::Rule(PasswordRuleError::TooLong(128)))
        else {
            panic!("not a 400");
        };
        assert_eq!(
            body.error,
            "Can't create User: password must be at most 128 characters"
        );
    }
}
