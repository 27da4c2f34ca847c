//! Self-service recovery by mail: the single-use token a link carries
//! ([`RecoveryToken`]), the digest storage keeps instead ([`RecoveryKey`]),
//! the stored record ([`RecoveryTicket`]), the port that keeps them
//! ([`RecoveryTokenRepository`]) and the rules ([`RecoveryRules`]).

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use std::fmt;

use crate::error::RepositoryError;
use crate::user::UserId;

/// The secret a recovery link carries: 32 bytes from a CSPRNG (256 bits),
/// unpadded base64url. Only its digest, the [`RecoveryKey`], is stored;
/// it has no `Display` and a redacted `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryToken(String);

impl RecoveryToken {
    /// A new token from 32 bytes of CSPRNG output.
    pub fn from_random_bytes(bytes: [u8; 32]) -> Self {
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A new token from the session-token source (the
    /// [`TokenGenerator`](crate::ports::TokenGenerator) port, whose OS
    /// generator draws 32 bytes): the same CSPRNG, another use.
    pub fn from_generated(token: &crate::session::SessionToken) -> Self {
        Self(token.expose().to_owned())
    }

    /// A token as a client sent it back. Any text is accepted: an unknown
    /// one simply finds no ticket.
    pub fn from_client(text: &str) -> Self {
        Self(text.to_owned())
    }

    /// The text to put in the link.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The digest under which storage keeps the ticket.
    pub fn key(&self) -> RecoveryKey {
        RecoveryKey(hex::encode(Sha256::digest(self.0.as_bytes())))
    }
}

impl fmt::Debug for RecoveryToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryToken(<redacted>)")
    }
}

/// The SHA-256 digest of a [`RecoveryToken`], lowercase hex: what storage
/// keeps. Knowing it does not let anyone use the link.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecoveryKey(String);

impl RecoveryKey {
    /// Parses a stored key: exactly 64 hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(text.to_ascii_lowercase()))
    }

    /// The hex digest, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecoveryKey({}…)", &self.0[..8.min(self.0.len())])
    }
}

/// What a ticket lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecoveryPurpose {
    /// Set a new password without the current one.
    PasswordReset,
}

impl RecoveryPurpose {
    /// The word storage keeps.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
        }
    }

    /// The purpose a stored word names.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "password_reset" => Some(Self::PasswordReset),
            _ => None,
        }
    }
}

/// A recovery token as storage keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryTicket {
    /// The token's digest.
    pub key: RecoveryKey,
    /// Whose account it opens.
    pub user_id: UserId,
    /// What it is for.
    pub purpose: RecoveryPurpose,
    /// When it was issued (whole seconds, UTC).
    pub created_at: DateTime<Utc>,
    /// When it stops working (whole seconds, UTC).
    pub expires_at: DateTime<Utc>,
}

impl RecoveryTicket {
    /// Whether it still works at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }
}

/// Where recovery tickets live.
#[async_trait]
pub trait RecoveryTokenRepository: Send + Sync {
    /// Stores a new ticket.
    ///
    /// # Errors
    /// [`RepositoryError::NoSuchUser`] when the storage also holds users
    /// and the ticket's user is not among them; otherwise only storage
    /// failures.
    async fn insert_ticket(&self, ticket: &RecoveryTicket) -> Result<(), RepositoryError>;

    /// The ticket stored under `key`, `None` when there is none. Expiry is
    /// the caller's business.
    ///
    /// # Errors
    /// Only storage failures.
    async fn find_ticket(
        &self,
        key: &RecoveryKey,
    ) -> Result<Option<RecoveryTicket>, RepositoryError>;

    /// Removes the ticket under `key`; `true` only for the one caller
    /// that removed it (of two concurrent calls, one gets `false`): what
    /// makes a ticket single-use.
    ///
    /// # Errors
    /// Only storage failures; on error nothing is removed.
    async fn take_ticket(&self, key: &RecoveryKey) -> Result<bool, RepositoryError>;

    /// Removes every ticket of `user` for `purpose`; how many.
    ///
    /// # Errors
    /// Only storage failures.
    async fn delete_tickets_of(
        &self,
        user: &UserId,
        purpose: RecoveryPurpose,
    ) -> Result<u64, RepositoryError>;

    /// Removes every ticket that expired at or before `now`; how many.
    ///
    /// # Errors
    /// Only storage failures.
    async fn delete_expired_tickets(&self, now: DateTime<Utc>) -> Result<u64, RepositoryError>;
}

/// The rules of recovery by mail, resolved once from the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecoveryRules {
    /// How long a password-reset link works.
    pub reset_lifetime: Duration,
    /// Reset requests one address may make per `window` (the rest are
    /// answered alike and send nothing).
    pub per_address: u64,
    /// Reset requests naming one email per `window`.
    pub per_account: u64,
    /// The throttle's window.
    pub window: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_256_bits_and_only_its_digest_is_a_key() {
        let token = RecoveryToken::from_random_bytes([7; 32]);
        assert_eq!(token.expose().len(), 43);
        let key = token.key();
        assert_eq!(key.as_str().len(), 64);
        assert!(!key.as_str().contains(token.expose()));
        assert_eq!(RecoveryKey::parse(key.as_str()), Some(key));
        assert_eq!(format!("{token:?}"), "RecoveryToken(<redacted>)");
        assert_eq!(
            RecoveryToken::from_client(token.expose()).key(),
            token.key()
        );
    }

    #[test]
    fn purposes_round_trip_through_their_words() {
        let purpose = RecoveryPurpose::PasswordReset;
        assert_eq!(RecoveryPurpose::parse(purpose.as_str()), Some(purpose));
        assert_eq!(RecoveryPurpose::parse("other"), None);
    }
}
