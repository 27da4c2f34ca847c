//! The pure core of session-auth.
//!
//! Entities and validated value objects ([`user`], [`password`], [`session`]),
//! the ports out that adapters implement ([`ports`], [`audit`]), the ports
//! in that front doors call ([`inbound`]) for an [`actor`], the credentials a request
//! presents ([`credentials`]), the authentication policies of the Flask
//! API's `AUTH_TYPE`s and the gate that turns them into a [`Caller`]
//! ([`policy`], [`gate`]), who may do what to which user ([`access`]), the
//! brute-force limits ([`throttle`] over [`attempt`]s), the use cases that
//! orchestrate the ports ([`service`]), recovery by mail ([`recovery`]
//! tickets, the [`mail`] port), and every error they speak
//! ([`error`]).
//!
//! Nothing here performs I/O or reads the time: storage, hashing, randomness
//! and the clock all arrive through ports.

pub mod access;
pub mod actor;
pub mod attempt;
pub mod audit;
pub mod credentials;
pub mod error;
pub mod gate;
pub mod inbound;
pub mod input;
pub mod mail;
pub mod password;
pub mod policy;
pub mod ports;
pub mod recovery;
pub mod service;
pub mod session;
pub mod throttle;
pub mod user;

pub use access::{AccessPolicy, AccessRules, Creation, Registration, UnknownSetting};
pub use actor::{Actor, ActorLabel, Caller, Principal};
pub use attempt::{AccountKey, FailedAttempt, FailureWindow};
pub use audit::{AuditEvent, AuditLog, NoAudit, Via};
pub use credentials::{EmailAndPassword, Presented};
pub use error::{
    AccessError, BoxError, ChangePasswordError, CreateUserError, CredentialFault, DeleteUserError,
    FORBIDDEN_ADMINS_ONLY, Failure, FieldError, HashError, InvalidPasswordHash, LoginError,
    PasswordRuleError, RepositoryError, SessionError, SetAdminError, SetPasswordError,
    UnknownAuthType, UpdateUserError,
};
pub use error::{INVALID_RESET_TOKEN, RequestResetError, ResetPasswordError};
pub use gate::{Authentication, Gate, GateDecision};
pub use inbound::PasswordRecovery;
pub use inbound::{
    Administration, Housekeeping, PasswordManagement, SessionManagement, SignIn, SignedIn,
    UserManagement,
};
pub use input::{AdminFlagRequest, NewUser, PasswordChange, UserChange};
pub use mail::{Mail, MailError, Mailer};
pub use password::{PASSWORD_MAX, Password, PasswordHash, PasswordRules};
pub use policy::{AuthPolicy, AuthType, Identity};
pub use ports::{
    AttemptLog, Clock, PasswordHasher, PasswordStrength, SessionBatchOutcome, SessionRepository,
    TokenGenerator, UserBatchOutcome, UserRepository,
};
pub use recovery::{
    RecoveryKey, RecoveryPurpose, RecoveryRules, RecoveryTicket, RecoveryToken,
    RecoveryTokenRepository,
};
pub use service::{AuthService, LoginErrors, Ports, RecoveryPorts, Rules, UseCases};
pub use session::{
    ClientInfo, Session, SessionId, SessionKey, SessionLifetime, SessionRules, SessionToken,
};
pub use throttle::{Throttle, ThrottleRules};
pub use user::{EMAIL_MAX, Email, NAME_MAX, NameChange, User, UserId};

/// Timestamps are kept to the second, as the Flask API's files and responses
/// show them (`YYYY-MM-DDTHH:MM:SS`): a value that round-trips through any
/// storage compares equal to the one that was stored.
pub fn truncate_to_seconds(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::Timelike;
    t.with_nanosecond(0).unwrap_or(t)
}

/// The timestamp format of the Flask API, in responses and in its files.
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";
