//! The pure core of session-auth.
//!
//! Entities and validated value objects ([`user`], [`password`], [`session`]),
//! the ports that adapters implement ([`ports`]), the authentication policies
//! of the Flask API's `AUTH_TYPE`s and the gate that applies them ([`policy`],
//! [`gate`]), and the use cases that orchestrate the ports ([`service`]).
//!
//! Nothing here performs I/O or reads the time: storage, hashing, randomness
//! and the clock all arrive through ports.

pub mod gate;
pub mod password;
pub mod policy;
pub mod ports;
pub mod service;
pub mod session;
pub mod throttle;
pub mod user;

pub use gate::{ExcludedPaths, Gate, GateDecision};
pub use password::{Password, PasswordHash, PasswordRules};
pub use policy::{AuthPolicy, AuthType, BasicCredentials, Credentials, Identity};
pub use ports::{
    AttemptLog, Clock, PasswordHasher, RepositoryError, SessionBatchOutcome, SessionRepository,
    TokenGenerator, UserBatchOutcome, UserRepository,
};
pub use service::{AuthPorts, AuthRules, AuthService, UserService};
pub use session::{
    ClientInfo, Session, SessionId, SessionKey, SessionLifetime, SessionRules, SessionToken,
};
pub use throttle::{AccountKey, FailedAttempt, FailureWindow, Throttle, ThrottleRules};
pub use user::{Email, User, UserId};

/// The boxed error kept as the source of an opaque failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Timestamps are kept to the second, as the Flask API's files and responses
/// show them (`YYYY-MM-DDTHH:MM:SS`): a value that round-trips through any
/// storage compares equal to the one that was stored.
pub fn truncate_to_seconds(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::Timelike;
    t.with_nanosecond(0).unwrap_or(t)
}

/// The timestamp format of the Flask API, in responses and in its files.
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";
