//! The wire shapes of requests and responses, kept apart from domain types
//! and converted at the edge.

use poem_openapi::Object;
use serde::Deserialize;

use domain::{
    AdminFlagRequest, ChangePasswordError, CreateUserError, EmailAndPassword, LoginError,
    NameChange, NewUser, PasswordChange, Session, SessionKey, TIMESTAMP_FORMAT, UpdateUserError,
    User, UserChange,
};

/// A user as every route shows one. The password hash never appears.
#[derive(Object, Debug)]
pub struct UserBody {
    /// The user's id (UUID).
    pub id: String,
    /// Email address.
    pub email: String,
    /// Given name, or null.
    pub first_name: Option<String>,
    /// Family name, or null.
    pub last_name: Option<String>,
    /// Creation time, `YYYY-MM-DDTHH:MM:SS` (UTC).
    pub created_at: String,
    /// Last change, `YYYY-MM-DDTHH:MM:SS` (UTC).
    pub updated_at: String,
    /// Whether the user is an administrator; only under
    /// `ACCESS_POLICY=owner` (under `open` a user is exactly the Flask
    /// API's).
    #[oai(skip_serializing_if_is_none)]
    pub is_admin: Option<bool>,
}

impl UserBody {
    /// The wire shape of `user`, with its administrator flag when
    /// `shows_admin_flag`.
    pub fn new(user: &User, shows_admin_flag: bool) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            created_at: user.created_at.format(TIMESTAMP_FORMAT).to_string(),
            updated_at: user.updated_at.format(TIMESTAMP_FORMAT).to_string(),
            is_admin: shows_admin_flag.then_some(user.is_admin),
        }
    }
}

/// `{"error": "…"}`, the body of every error.
#[derive(Object, Debug)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
}

impl ErrorBody {
    /// An error body with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            error: message.into(),
        }
    }
}

/// `{"status": "OK"}`.
#[derive(Object, Debug)]
pub struct StatusBody {
    /// Always `OK` while the service answers.
    pub status: String,
}

/// `{"users": <count>}`.
#[derive(Object, Debug)]
pub struct StatsBody {
    /// How many users exist.
    pub users: u64,
}

/// `{}`.
#[derive(Object, Debug, Default)]
pub struct EmptyBody {}

/// A new user.
// No `Debug`: it holds a clear-text password.
#[derive(Object, Deserialize, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct CreateUserRequest {
    /// The login name; unique among users.
    #[oai(validator(min_length = 1, max_length = 254, pattern = r"^[^\x00]*$"))]
    pub email: Option<String>,
    /// The password, within the configured length limits.
    #[oai(validator(min_length = 1, max_length = 128))]
    pub password: Option<String>,
    /// Given name.
    #[oai(validator(max_length = 1024, pattern = r"^[^\x00]*$"))]
    pub first_name: Option<String>,
    /// Family name.
    #[oai(validator(max_length = 1024, pattern = r"^[^\x00]*$"))]
    pub last_name: Option<String>,
}

impl TryFrom<CreateUserRequest> for NewUser {
    type Error = CreateUserError;

    fn try_from(body: CreateUserRequest) -> Result<Self, Self::Error> {
        NewUser::parse(body.email, body.password, body.first_name, body.last_name)
    }
}

/// `PUT /users/<id>`: the names (absent or null leaves a name as it is)
/// and, under `ACCESS_POLICY=owner`, the administrator flag.
#[derive(Object, Deserialize, Debug, Default)]
#[oai(skip_serializing_if_is_none)]
#[serde(from = "UpdateUserFields")]
pub struct UpdateUserRequest {
    /// New given name.
    #[oai(validator(max_length = 1024, pattern = r"^[^\x00]*$"))]
    pub first_name: Option<String>,
    /// New family name.
    #[oai(validator(max_length = 1024, pattern = r"^[^\x00]*$"))]
    pub last_name: Option<String>,
    /// Make the user an administrator (`true`) or not (`false`); only an
    /// administrator may change it.
    pub is_admin: Option<bool>,
    /// `is_admin` was given but is no boolean: under `open` ignored, as
    /// the Flask API ignored every field but the names.
    #[oai(skip)]
    pub is_admin_malformed: bool,
}

/// The fields of [`UpdateUserRequest`] as sent: `is_admin` of any type, so
/// that a body the Flask API accepted is still accepted.
#[derive(Deserialize)]
struct UpdateUserFields {
    first_name: Option<String>,
    last_name: Option<String>,
    #[serde(default)]
    is_admin: Option<serde_json::Value>,
}

impl From<UpdateUserFields> for UpdateUserRequest {
    fn from(fields: UpdateUserFields) -> Self {
        let (is_admin, is_admin_malformed) = match fields.is_admin {
            None | Some(serde_json::Value::Null) => (None, false),
            Some(serde_json::Value::Bool(flag)) => (Some(flag), false),
            Some(_) => (None, true),
        };
        Self {
            first_name: fields.first_name,
            last_name: fields.last_name,
            is_admin,
            is_admin_malformed,
        }
    }
}

impl TryFrom<UpdateUserRequest> for UserChange {
    type Error = UpdateUserError;

    fn try_from(body: UpdateUserRequest) -> Result<Self, Self::Error> {
        Ok(UserChange {
            names: NameChange::parse(body.first_name, body.last_name)?,
            is_admin: match (body.is_admin, body.is_admin_malformed) {
                (_, true) => AdminFlagRequest::Malformed,
                (Some(flag), false) => AdminFlagRequest::Set(flag),
                (None, false) => AdminFlagRequest::Absent,
            },
        })
    }
}

/// The login form.
// No `Debug`: it holds a clear-text password.
#[derive(Object, Deserialize, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct LoginForm {
    /// The account's email.
    #[oai(validator(min_length = 1))]
    pub email: Option<String>,
    /// The account's password.
    #[oai(validator(min_length = 1))]
    pub password: Option<String>,
}

impl TryFrom<LoginForm> for EmailAndPassword {
    type Error = LoginError;

    fn try_from(form: LoginForm) -> Result<Self, Self::Error> {
        EmailAndPassword::parse(form.email.as_deref(), form.password.as_deref())
    }
}

/// One of the current user's sessions. The handle is not the token: it
/// cannot be presented as a cookie.
#[derive(Object, Debug)]
pub struct SessionBody {
    /// The session's non-secret handle (UUID), for
    /// `DELETE /auth_session/sessions/<handle>`.
    pub id: String,
    /// Login time, `YYYY-MM-DDTHH:MM:SS` (UTC).
    pub created_at: String,
    /// Last recorded use, `YYYY-MM-DDTHH:MM:SS` (UTC); recorded at most
    /// once a minute, so it may lag by that much.
    pub last_used_at: String,
    /// The client address that logged in, or null when unknown.
    pub client_address: Option<String>,
    /// The `User-Agent` that logged in, or null.
    pub user_agent: Option<String>,
    /// Whether this is the session of the request's own cookie.
    pub current: bool,
}

impl SessionBody {
    /// The wire shape of `session`; `current` is the key of the request's
    /// session cookie, when it carried one.
    pub fn new(session: &Session, current: Option<&SessionKey>) -> Self {
        Self {
            id: session.id.to_string(),
            created_at: session.created_at.format(TIMESTAMP_FORMAT).to_string(),
            last_used_at: session.last_used_at.format(TIMESTAMP_FORMAT).to_string(),
            client_address: session.client_address.clone(),
            user_agent: session.user_agent.clone(),
            current: current == Some(&session.key),
        }
    }
}

/// `{"ended": <count>}`.
#[derive(Object, Debug)]
pub struct EndedBody {
    /// How many sessions ended.
    pub ended: u64,
}

/// A password change.
// No `Debug`: it holds clear-text passwords.
#[derive(Object, Deserialize, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct ChangePasswordRequest {
    /// The password in use now.
    #[oai(validator(min_length = 1))]
    pub current_password: Option<String>,
    /// The password to set, within the configured length limits.
    #[oai(validator(min_length = 1, max_length = 128))]
    pub new_password: Option<String>,
}

impl TryFrom<ChangePasswordRequest> for PasswordChange {
    type Error = ChangePasswordError;

    fn try_from(body: ChangePasswordRequest) -> Result<Self, Self::Error> {
        PasswordChange::parse(
            body.current_password.as_deref(),
            body.new_password.as_deref(),
        )
    }
}
