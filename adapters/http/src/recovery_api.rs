//! Password reset by mail, under `/api/v1/auth_session/password_reset`:
//! one operation a client calls twice, first with an email (a link is
//! mailed), then with the link's token and a new password.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};
use serde::Deserialize;
use std::sync::Arc;

use domain::{PasswordRecovery, RequestResetError, ResetPasswordError};

use crate::dto::EmptyBody;
use crate::error::ApiError;
use crate::extract::{Client, FormOrJson};

#[derive(Tags)]
enum Tag {
    /// Cookie sessions.
    Session,
}

/// The one body of a reset request, whatever the email.
pub const RESET_REQUESTED: &str =
    "If this email belongs to an account, a link to reset its password has been sent to it.";

/// The fields of a reset: `email` to ask for a link; `token` and
/// `new_password` to use it.
// No `Debug`: it holds a clear-text password.
#[derive(Object, Deserialize, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct PasswordResetFields {
    /// The account's email: asks for a link (when no `token` is given).
    pub email: Option<String>,
    /// The token of the mailed link: sets `new_password`.
    pub token: Option<String>,
    /// The new password, under the password rules (with `token`).
    pub new_password: Option<String>,
}

/// `{"message": "…"}`.
#[derive(Object, Debug)]
pub struct MessageBody {
    /// What happened, said alike for every email.
    pub message: String,
}

/// The answers of a reset.
#[derive(ApiResponse)]
pub enum ResetAnswer {
    /// The new password is set; every session of the account ended.
    #[oai(status = 200)]
    Reset(Json<EmptyBody>),
    /// The request was taken: the same answer whether or not the email
    /// names an account.
    #[oai(status = 202)]
    Requested(Json<MessageBody>),
}

impl From<RequestResetError> for ApiError {
    fn from(error: RequestResetError) -> Self {
        match error {
            RequestResetError::Disabled => Self::not_found(),
            RequestResetError::EmailMissing => Self::bad_request(error.to_string()),
            RequestResetError::Failure(failure) => failure.into(),
        }
    }
}

impl From<ResetPasswordError> for ApiError {
    fn from(error: ResetPasswordError) -> Self {
        match error {
            ResetPasswordError::Disabled => Self::not_found(),
            ResetPasswordError::TokenMissing
            | ResetPasswordError::PasswordMissing
            | ResetPasswordError::Rule(_)
            | ResetPasswordError::InvalidToken => Self::bad_request(error.to_string()),
            ResetPasswordError::Failure(failure) => failure.into(),
        }
    }
}

/// The recovery operations.
pub struct RecoveryApi {
    recovery: Arc<dyn PasswordRecovery>,
}

impl RecoveryApi {
    pub fn new(recovery: Arc<dyn PasswordRecovery>) -> Self {
        Self { recovery }
    }
}

#[OpenApi(prefix_path = "/api/v1")]
impl RecoveryApi {
    /// Reset a forgotten password
    ///
    /// Called twice. First with `email`: answers `202` with the same body
    /// whether or not the email names an account, and mails that account a
    /// link carrying a single-use token (valid `PASSWORD_RESET_TTL`
    /// seconds, 30 minutes by default); requests past the limits per
    /// client address and per email are answered alike and send nothing.
    /// Then with that `token` and a `new_password` (under the password
    /// rules): sets it, ends every session of the account, and answers
    /// `200 {}`; a token that is unknown, used or expired answers
    /// `400 {"error": "invalid or expired token"}`. JSON or form fields.
    /// Needs no credentials; `404` when the server sends no mail
    /// (`MAIL_TRANSPORT=off`).
    #[oai(
        path = "/auth_session/password_reset",
        method = "post",
        tag = "Tag::Session"
    )]
    async fn password_reset(
        &self,
        FormOrJson(fields): FormOrJson<PasswordResetFields>,
        Client(actor): Client,
    ) -> Result<ResetAnswer, ApiError> {
        if fields.token.is_some() {
            self.recovery
                .reset_password(
                    &actor,
                    fields.token.as_deref(),
                    fields.new_password.as_deref(),
                )
                .await?;
            return Ok(ResetAnswer::Reset(Json(EmptyBody::default())));
        }
        self.recovery
            .request_reset(&actor, fields.email.as_deref())
            .await?;
        Ok(ResetAnswer::Requested(Json(MessageBody {
            message: RESET_REQUESTED.into(),
        })))
    }
}
