//! Every error the domain speaks: what the ports report, what the use cases
//! answer, and what parsing a setting or a value can refuse.
//!
//! The `Display` text of a client-facing variant is the message the wire
//! carries (the Flask API's messages where it had one), so the HTTP adapter
//! sends `to_string()` and never retypes a message.

use chrono::Duration;

/// The boxed error kept as the source of an opaque failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a storage adapter can report.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// Another user already has this email.
    #[error("email already exists")]
    DuplicateEmail,
    /// A stored user already has this id.
    #[error("a user with this id already exists")]
    DuplicateId,
    /// The user a new session belongs to does not exist (any more).
    #[error("no such user")]
    NoSuchUser,
    /// The change would take the right away from the only administrator.
    #[error("the last administrator cannot lose the right")]
    LastAdmin,
    /// The storage cannot be reached right now; the request may be retried.
    #[error("storage unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else; the source says what, and is logged, never sent.
    #[error("storage failure")]
    Unexpected(#[source] BoxError),
}

/// A hashing failure (a corrupt stored hash, a pool that went away).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashError(#[source] pub BoxError);

/// An infrastructure failure under a use case: never the client's fault.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Storage cannot be reached right now (503).
    #[error("storage unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else (500); the source is logged, never sent.
    #[error("unexpected failure")]
    Unexpected(#[source] BoxError),
}

impl From<RepositoryError> for Failure {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::Unavailable(source) => Self::Unavailable(source),
            RepositoryError::Unexpected(source) => Self::Unexpected(source),
            unexpected @ (RepositoryError::DuplicateEmail
            | RepositoryError::DuplicateId
            | RepositoryError::NoSuchUser
            | RepositoryError::LastAdmin) => Self::Unexpected(Box::new(unexpected)),
        }
    }
}

impl From<HashError> for Failure {
    fn from(error: HashError) -> Self {
        Self::Unexpected(Box::new(error))
    }
}

/// A new password outside the configured rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRuleError {
    /// Shorter than the minimum.
    #[error("password must be at least {0} characters")]
    TooShort(usize),
    /// Longer than the maximum.
    #[error("password must be at most {0} characters")]
    TooLong(usize),
    /// Weaker than `PASSWORD_POLICY` requires; why, never quoting the
    /// password.
    #[error("password is too weak: {0}")]
    TooWeak(String),
}

/// A field a client sent that no storage could keep as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// Longer than its limit (in characters).
    #[error("{0} must be at most {1} characters")]
    TooLong(&'static str, usize),
    /// Holds the NUL character, which PostgreSQL's text cannot store.
    #[error("{0} must not contain the NUL character")]
    Nul(&'static str),
    /// A new account's email is not of the accepted syntax; says why.
    #[error("email {0}")]
    Email(&'static str),
}

/// Why a login (or any password check) failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// No email, or an empty one.
    #[error("email missing")]
    EmailMissing,
    /// No password, or an empty one.
    #[error("password missing")]
    PasswordMissing,
    /// No user has this email.
    #[error("no user found for this email")]
    UnknownEmail,
    /// The password does not match.
    #[error("wrong password")]
    WrongPassword,
    /// Under `LOGIN_ERRORS=generic`: the email is unknown or the password
    /// wrong, said alike; which one is kept for the server's log only.
    #[error("wrong email or password")]
    InvalidCredentials(CredentialFault),
    /// Too many failed checks: try again after this long.
    #[error("Too many attempts")]
    TooManyAttempts(Duration),
    /// Logins open no session under the active policy: there is nothing
    /// to log in to.
    #[error("Not found")]
    NoSessions,
    /// Infrastructure failure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Which of the two credentials was wrong, behind
/// [`LoginError::InvalidCredentials`]: for the server's log, never for the
/// client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CredentialFault {
    /// No user has the email.
    #[error("no user found for this email")]
    UnknownEmail,
    /// The password does not match.
    #[error("wrong password")]
    WrongPassword,
}

/// Why changing a password failed.
#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    /// Nobody is signed in (`AUTH_TYPE=none`): there is no own password.
    #[error("Not found")]
    NoUser,
    /// No current password given.
    #[error("current_password missing")]
    CurrentMissing,
    /// No new password given.
    #[error("new_password missing")]
    NewMissing,
    /// The new password breaks the password rules.
    #[error("new_password: {0}")]
    Rule(#[from] PasswordRuleError),
    /// The current password does not match.
    #[error("wrong password")]
    WrongPassword,
    /// Too many failed checks: try again after this long.
    #[error("Too many attempts")]
    TooManyAttempts(Duration),
    /// Infrastructure failure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Why creating a user failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// No email, or an empty one.
    #[error("email missing")]
    EmailMissing,
    /// No password, or an empty one.
    #[error("password missing")]
    PasswordMissing,
    /// Another user has this email.
    #[error("Can't create User: email already exists")]
    DuplicateEmail,
    /// The password breaks the password rules.
    #[error("Can't create User: {0}")]
    Rule(#[from] PasswordRuleError),
    /// A field no storage could keep.
    #[error("Can't create User: {0}")]
    Field(#[from] FieldError),
    /// The caller may not create users (`ACCESS_POLICY=owner`, not an
    /// administrator).
    #[error("{}", FORBIDDEN_ADMINS_ONLY)]
    Forbidden,
    /// Too many registrations from this client: try again after this long.
    #[error("Too many attempts")]
    TooManyAttempts(Duration),
    /// Infrastructure failure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// The message of a refusal for lack of the administrator right.
pub const FORBIDDEN_ADMINS_ONLY: &str = "Forbidden: administrators only";

/// Why an operator's password reset was refused.
#[derive(Debug, thiserror::Error)]
pub enum SetPasswordError {
    /// Only an operator may set a password without the current one.
    #[error("{}", FORBIDDEN_ADMINS_ONLY)]
    Forbidden,
    /// No such user.
    #[error("no such user")]
    NoSuchUser,
    /// The password breaks the password rules.
    #[error("{0}")]
    Rule(#[from] PasswordRuleError),
    /// The password changed meanwhile (another reset or a user's own
    /// change); nothing was stored.
    #[error("the password changed meanwhile; try again")]
    Conflict,
    /// Infrastructure failure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<RepositoryError> for SetPasswordError {
    fn from(error: RepositoryError) -> Self {
        Self::Failure(error.into())
    }
}

impl From<RepositoryError> for CreateUserError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::DuplicateEmail => Self::DuplicateEmail,
            other => Self::Failure(other.into()),
        }
    }
}

/// Why changing a user failed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateUserError {
    /// A name no storage could keep.
    #[error("Can't update User: {0}")]
    Field(#[from] FieldError),
    /// No such user, or one the caller may not see.
    #[error("Not found")]
    NotFound,
    /// A field of the wrong type (`is_admin` that is no boolean).
    #[error("Wrong format")]
    WrongFormat,
    /// Only an administrator may change the administrator flag.
    #[error("{}", FORBIDDEN_ADMINS_ONLY)]
    Forbidden,
    /// The change would leave no administrator.
    #[error("Can't update User: the last administrator cannot lose the right")]
    LastAdmin,
    /// Infrastructure failure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<RepositoryError> for UpdateUserError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::LastAdmin => Self::LastAdmin,
            other => Self::Failure(other.into()),
        }
    }
}

/// Why deleting a user failed.
#[derive(Debug, thiserror::Error)]
pub enum DeleteUserError {
    /// No such user, or one the caller may not see.
    #[error("Not found")]
    NotFound,
    /// The user is the last administrator (`ACCESS_POLICY=owner`).
    #[error("Can't delete User: the last administrator cannot be deleted")]
    LastAdmin,
    /// Infrastructure failure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<RepositoryError> for DeleteUserError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::LastAdmin => Self::LastAdmin,
            other => Self::Failure(other.into()),
        }
    }
}

/// Why a session operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No such session, or sessions the actor may not see (a user signed
    /// in without a session has none to manage).
    #[error("Not found")]
    NotFound,
    /// Infrastructure failure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<RepositoryError> for SessionError {
    fn from(error: RepositoryError) -> Self {
        Self::Failure(error.into())
    }
}

/// Why an operation reserved to administrators was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The caller is not an administrator (`ACCESS_POLICY=owner`).
    #[error("{}", FORBIDDEN_ADMINS_ONLY)]
    Forbidden,
    /// Infrastructure failure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<RepositoryError> for AccessError {
    fn from(error: RepositoryError) -> Self {
        Self::Failure(error.into())
    }
}

/// Why an operator could not grant or revoke the administrator right.
#[derive(Debug, thiserror::Error)]
pub enum SetAdminError {
    /// The actor may not act on every user.
    #[error("{}", FORBIDDEN_ADMINS_ONLY)]
    Forbidden,
    /// No such user.
    #[error("no such user")]
    NoSuchUser,
    /// The user is the only administrator.
    #[error("the last administrator cannot lose the right; grant it to another user first")]
    LastAdmin,
    /// Infrastructure failure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<RepositoryError> for SetAdminError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::LastAdmin => Self::LastAdmin,
            other => Self::Failure(other.into()),
        }
    }
}

/// The text names no known `AUTH_TYPE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown AUTH_TYPE {given:?}; expected one of: {expected}")]
pub struct UnknownAuthType {
    /// The text as given.
    pub given: String,
    /// The accepted names, comma-separated.
    pub expected: String,
}

/// The text is neither an Argon2id PHC string nor a 64-digit hex digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an Argon2id PHC string nor a SHA-256 hex digest")]
pub struct InvalidPasswordHash;

/// Why a password-reset request was refused. Whether the email names an
/// account is never among the reasons: both are answered alike.
#[derive(Debug, thiserror::Error)]
pub enum RequestResetError {
    /// Recovery by mail is off (no mail transport configured).
    #[error("Not found")]
    Disabled,
    /// No email, or an empty one.
    #[error("email missing")]
    EmailMissing,
    /// Infrastructure failure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<RepositoryError> for RequestResetError {
    fn from(error: RepositoryError) -> Self {
        Self::Failure(error.into())
    }
}

/// The one answer to a reset token that is unknown, used or expired.
pub const INVALID_RESET_TOKEN: &str = "invalid or expired token";

/// Why setting a password with a reset token failed.
#[derive(Debug, thiserror::Error)]
pub enum ResetPasswordError {
    /// Recovery by mail is off (no mail transport configured).
    #[error("Not found")]
    Disabled,
    /// No token, or an empty one.
    #[error("token missing")]
    TokenMissing,
    /// No new password, or an empty one.
    #[error("new_password missing")]
    PasswordMissing,
    /// The new password breaks the password rules; the token stays usable.
    #[error("new_password: {0}")]
    Rule(#[from] PasswordRuleError),
    /// The token is unknown, was used, or expired: one answer for all.
    #[error("{}", INVALID_RESET_TOKEN)]
    InvalidToken,
    /// Infrastructure failure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<RepositoryError> for ResetPasswordError {
    fn from(error: RepositoryError) -> Self {
        Self::Failure(error.into())
    }
}
