//! The one place where failures become HTTP responses.

use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;

use domain::service::{CreateUserError, Failure, LoginError};

use crate::dto::ErrorBody;

/// Every error the API answers with; each variant says its status. 5xx
/// variants carry a generic body: their cause is logged, never sent.
#[derive(ApiResponse, Debug)]
pub enum ApiError {
    /// Malformed or incomplete input.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// No credentials, or (login) a wrong password.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Credentials that identify no one.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such resource.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
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
            LoginError::Failure(failure) => failure.into(),
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
            CreateUserError::Failure(failure) => failure.into(),
        }
    }
}
