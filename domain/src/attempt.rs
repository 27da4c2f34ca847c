//! Failed password checks as the throttle counts them and the
//! [`AttemptLog`](crate::ports::AttemptLog) port stores them.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::fmt;

/// The key under which an account's failures are counted: the SHA-256 of the
/// email as typed with ASCII letters folded to lower case (as emails are
/// compared: `Bob@x.io` and `bob@x.io` share one count), so the log never
/// holds what people type into the email field (sometimes their password).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AccountKey(String);

impl AccountKey {
    /// The key of an email as typed.
    pub fn of(email: &str) -> Self {
        Self(hex::encode(Sha256::digest(
            crate::user::fold(email).as_bytes(),
        )))
    }

    /// The hex digest, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountKey({}…)", &self.0[..8.min(self.0.len())])
    }
}

/// One failed password check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedAttempt {
    /// Whose password was tried.
    pub account: AccountKey,
    /// From where.
    pub address: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Failures matching a filter within a window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailureWindow {
    /// How many.
    pub count: u64,
    /// The oldest one's time.
    pub oldest: Option<DateTime<Utc>>,
    /// The latest one's time.
    pub latest: Option<DateTime<Utc>>,
}

/// The address used when the client's is unknown.
pub const UNKNOWN_ADDRESS: &str = "unknown";
