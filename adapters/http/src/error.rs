//! The one place where failures become HTTP responses.

use chrono::Duration;
use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;

use poem::http::StatusCode;
use poem::{IntoResponse, Response};

use domain::{
    AccessError, ChangePasswordError, CreateUserError, DeleteUserError, Failure, LoginError,
    SessionError, UpdateUserError,
};

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
    /// Credentials that identify no one, or (`ACCESS_POLICY=owner`) an
    /// operation reserved to administrators.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such resource.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The change would leave no administrator (`ACCESS_POLICY=owner`).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
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

    /// `400 {"error": "Wrong format"}`: a body that is not the JSON a route
    /// expects.
    pub fn wrong_format() -> Self {
        Self::bad_request("Wrong format")
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

    /// `503 {"error": "Service unavailable"}`: what a storage failure
    /// answers, and a request that ran out of time.
    pub fn unavailable() -> Self {
        Self::Unavailable(Json(ErrorBody::new("Service unavailable")))
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
                Self::unavailable()
            }
            Failure::Unexpected(source) => {
                tracing::error!(error = %source, source = ?source, "unexpected failure");
                Self::Internal(Json(ErrorBody::new("Internal server error")))
            }
        }
    }
}

/// The body of a client error whose domain message is the wire's.
fn said(error: &impl std::fmt::Display) -> Json<ErrorBody> {
    Json(ErrorBody::new(error.to_string()))
}

impl From<LoginError> for ApiError {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::EmailMissing | LoginError::PasswordMissing => {
                Self::BadRequest(said(&error))
            }
            LoginError::UnknownEmail | LoginError::NoSessions => Self::NotFound(said(&error)),
            LoginError::WrongPassword | LoginError::InvalidCredentials(_) => {
                Self::Unauthorized(said(&error))
            }
            LoginError::TooManyAttempts(wait) => Self::too_many_attempts(wait),
            LoginError::Failure(failure) => failure.into(),
        }
    }
}

impl From<ChangePasswordError> for ApiError {
    fn from(error: ChangePasswordError) -> Self {
        match error {
            ChangePasswordError::CurrentMissing
            | ChangePasswordError::NewMissing
            | ChangePasswordError::Rule(_) => Self::BadRequest(said(&error)),
            ChangePasswordError::WrongPassword => Self::Unauthorized(said(&error)),
            ChangePasswordError::NoUser => Self::not_found(),
            ChangePasswordError::TooManyAttempts(wait) => Self::too_many_attempts(wait),
            ChangePasswordError::Failure(failure) => failure.into(),
        }
    }
}

impl From<CreateUserError> for ApiError {
    fn from(error: CreateUserError) -> Self {
        match error {
            CreateUserError::EmailMissing
            | CreateUserError::PasswordMissing
            | CreateUserError::DuplicateEmail
            | CreateUserError::Rule(_)
            | CreateUserError::Field(_) => Self::BadRequest(said(&error)),
            CreateUserError::Forbidden => Self::Forbidden(said(&error)),
            CreateUserError::TooManyAttempts(wait) => Self::too_many_attempts(wait),
            CreateUserError::Failure(failure) => failure.into(),
        }
    }
}

impl From<UpdateUserError> for ApiError {
    fn from(error: UpdateUserError) -> Self {
        match error {
            UpdateUserError::Field(_) | UpdateUserError::WrongFormat => {
                Self::BadRequest(said(&error))
            }
            // The same body as an unknown id's, so no id is confirmed.
            UpdateUserError::NotFound => Self::not_found(),
            UpdateUserError::Forbidden => Self::Forbidden(said(&error)),
            UpdateUserError::LastAdmin => Self::Conflict(said(&error)),
            UpdateUserError::Failure(failure) => failure.into(),
        }
    }
}

impl From<DeleteUserError> for ApiError {
    fn from(error: DeleteUserError) -> Self {
        match error {
            DeleteUserError::NotFound => Self::not_found(),
            DeleteUserError::LastAdmin => Self::Conflict(said(&error)),
            DeleteUserError::Failure(failure) => failure.into(),
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::NotFound => Self::not_found(),
            SessionError::Failure(failure) => failure.into(),
        }
    }
}

impl From<AccessError> for ApiError {
    fn from(error: AccessError) -> Self {
        match error {
            AccessError::Forbidden => Self::Forbidden(said(&error)),
            AccessError::Failure(failure) => failure.into(),
        }
    }
}

/// `{"error": message}` with a status outside [`ApiError`]'s variants (the
/// framework's own answers: 405, an unreadable body), built from the same
/// [`ErrorBody`] as every other error.
pub fn error_response(status: StatusCode, message: &str) -> Response {
    let mut response = Json(ErrorBody::new(message)).into_response();
    response.set_status(status);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::PasswordRuleError;

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
    fn generic_login_errors_are_one_answer_whichever_credential_was_wrong() {
        use domain::CredentialFault;
        let answer = |fault| {
            let response = ApiError::from(LoginError::InvalidCredentials(fault)).into_response();
            (
                response.status().as_u16(),
                format!("{:?}", response.headers()),
            )
        };
        assert_eq!(
            answer(CredentialFault::UnknownEmail),
            answer(CredentialFault::WrongPassword)
        );
        assert_eq!(answer(CredentialFault::UnknownEmail).0, 401);
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
