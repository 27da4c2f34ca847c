//! Login sessions: the secret token a client holds, the digest storage keeps.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use std::fmt;
use uuid::Uuid;

use crate::user::UserId;

/// The secret a client presents in the session cookie. Only its digest, the
/// [`SessionKey`], is ever stored; the token has no `Display` and a redacted
/// `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// A new token from 32 bytes of CSPRNG output (256 bits of entropy),
    /// encoded as unpadded base64url so it is a valid cookie value.
    pub fn from_random_bytes(bytes: [u8; 32]) -> Self {
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as a client sent it. Any text is accepted: an unknown token
    /// simply finds no session (the Flask API's cookies were UUIDs).
    pub fn from_cookie(value: &str) -> Self {
        Self(value.to_owned())
    }

    /// The value to put in the `Set-Cookie` header.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The digest under which storage keeps the session.
    pub fn key(&self) -> SessionKey {
        SessionKey::digest_of(&self.0)
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

/// The SHA-256 digest of a [`SessionToken`], lowercase hex: the storage key
/// of a session. Knowing it does not let anyone present the session.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey(String);

impl SessionKey {
    /// The key of a token's text.
    pub fn digest_of(token: &str) -> Self {
        Self(hex::encode(Sha256::digest(token.as_bytes())))
    }

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

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to tell sessions apart in a log.
        write!(f, "SessionKey({}…)", &self.0[..8.min(self.0.len())])
    }
}

/// A session record's own id: a non-secret handle for the session.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SessionId(Uuid);

impl SessionId {
    /// A fresh random id.
    pub fn generate() -> Self {
        Self(Uuid::new_v4())
    }

    /// Parses a stored or client-given id.
    pub fn parse(text: &str) -> Option<Self> {
        Uuid::try_parse(text).ok().map(Self)
    }

    /// The UUID itself.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl From<Uuid> for SessionId {
    fn from(value: Uuid) -> Self {
        Self(value)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A login session as storage keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Non-secret handle.
    pub id: SessionId,
    /// Digest of the token the client holds.
    pub key: SessionKey,
    /// Whose session it is.
    pub user_id: UserId,
    /// When the login happened (whole seconds, UTC); expiry counts from here.
    pub created_at: DateTime<Utc>,
    /// When the record last changed (whole seconds, UTC).
    pub updated_at: DateTime<Utc>,
}

/// How long a session stays valid after its creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionLifetime {
    /// Never expires (`session_auth`, or a `SESSION_DURATION` of 0 or less).
    Unlimited,
    /// Expires this long after creation.
    Limited(Duration),
}

impl SessionLifetime {
    /// The Flask API's reading of `SESSION_DURATION`: 0 or negative means
    /// sessions never expire.
    pub fn from_seconds(seconds: i64) -> Self {
        if seconds <= 0 {
            Self::Unlimited
        } else {
            Self::Limited(Duration::seconds(seconds))
        }
    }

    /// Whether a session created at `created_at` still resolves at `now`.
    /// As in the Flask API, a session is valid up to and including the
    /// instant `created_at + lifetime`, and expired after it.
    pub fn is_valid_at(&self, created_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        match self {
            Self::Unlimited => true,
            Self::Limited(d) => created_at + *d >= now,
        }
    }

    /// The lifetime in whole seconds, when finite (for the cookie's
    /// `Max-Age`).
    pub fn seconds(&self) -> Option<i64> {
        match self {
            Self::Unlimited => None,
            Self::Limited(d) => Some(d.num_seconds()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn key_is_the_sha256_of_the_token_text() {
        let token = SessionToken::from_cookie("abc");
        assert_eq!(
            token.key().as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn random_tokens_are_cookie_safe_and_carry_256_bits() {
        let token = SessionToken::from_random_bytes([0xff; 32]);
        assert_eq!(token.expose().len(), 43);
        assert!(
            token
                .expose()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }

    #[test]
    fn session_is_valid_at_the_exact_boundary_and_expired_one_second_later() {
        let created = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let lifetime = SessionLifetime::from_seconds(60);
        assert!(lifetime.is_valid_at(created, created + Duration::seconds(60)));
        assert!(!lifetime.is_valid_at(created, created + Duration::seconds(61)));
    }

    #[test]
    fn zero_or_negative_duration_never_expires() {
        let created = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
        let far = created + Duration::days(365 * 30);
        assert!(SessionLifetime::from_seconds(0).is_valid_at(created, far));
        assert!(SessionLifetime::from_seconds(-5).is_valid_at(created, far));
        assert_eq!(SessionLifetime::from_seconds(0).seconds(), None);
    }

    #[test]
    fn token_debug_is_redacted() {
        let token = SessionToken::from_cookie("very-secret");
        assert!(!format!("{token:?}").contains("very-secret"));
    }
}
