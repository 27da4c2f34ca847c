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
    /// When the session last authenticated a request (recorded at most once
    /// per [`SessionRules::touch_interval`]); the idle timeout counts from
    /// here.
    pub last_used_at: DateTime<Utc>,
    /// The client address that logged in, when known.
    pub client_address: Option<String>,
    /// The `User-Agent` that logged in, when sent (at most
    /// [`USER_AGENT_MAX`] characters are kept).
    pub user_agent: Option<String>,
}

/// The longest `User-Agent` kept with a session.
pub const USER_AGENT_MAX: usize = 256;

/// Who is logging in: what the HTTP layer knows of the client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's address (the peer, or the first `X-Forwarded-For` hop
    /// when the proxy is trusted).
    pub address: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The request's id (the client's `X-Request-Id`, or one made for it),
    /// for the audit trail; never stored with a session.
    pub request_id: Option<String>,
}

impl ClientInfo {
    /// The user agent cut to [`USER_AGENT_MAX`] characters.
    pub fn user_agent_for_storage(&self) -> Option<String> {
        self.user_agent
            .as_ref()
            .map(|ua| ua.chars().take(USER_AGENT_MAX).collect())
    }
}

/// How sessions end: the absolute lifetime, counted from the login and never
/// extended, and an optional idle timeout, counted from the last use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionRules {
    /// The absolute limit.
    pub lifetime: SessionLifetime,
    /// Ends sessions not used for this long; `None`: no idle limit.
    pub idle_timeout: Option<Duration>,
}

impl SessionRules {
    /// Only an absolute lifetime.
    pub fn lifetime(lifetime: SessionLifetime) -> Self {
        Self {
            lifetime,
            idle_timeout: None,
        }
    }

    /// Whether `session` still resolves at `now`.
    pub fn is_live(&self, session: &Session, now: DateTime<Utc>) -> bool {
        self.lifetime.is_valid_at(session.created_at, now)
            && self.idle_timeout.is_none_or(|idle| {
                // Past the end of time counts as never.
                session
                    .last_used_at
                    .checked_add_signed(idle)
                    .is_none_or(|end| end >= now)
            })
    }

    /// How stale `last_used_at` may get before a request records activity:
    /// min(60 s, idle timeout ÷ 2), so reads stay cheap while an idle
    /// timeout is still honoured to within half its length.
    pub fn touch_interval(&self) -> Duration {
        let minute = Duration::seconds(60);
        match self.idle_timeout {
            Some(idle) => (idle / 2).min(minute),
            None => minute,
        }
    }

    /// Whether a request at `now` should record activity on `session`.
    pub fn needs_touch(&self, session: &Session, now: DateTime<Utc>) -> bool {
        now - session.last_used_at >= self.touch_interval()
    }

    /// The cut-offs for removing expired sessions at `now`: sessions
    /// created before the first, or last used before the second, are dead.
    pub fn expiry_cutoffs(
        &self,
        now: DateTime<Utc>,
    ) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let created_before = match self.lifetime {
            SessionLifetime::Unlimited => None,
            SessionLifetime::Limited(d) => now.checked_sub_signed(d),
        };
        let last_used_before = self
            .idle_timeout
            .and_then(|idle| now.checked_sub_signed(idle));
        (created_before, last_used_before)
    }
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
    /// sessions never expire. A lifetime beyond what time arithmetic can
    /// hold (the configuration refuses such values) is unlimited too.
    pub fn from_seconds(seconds: i64) -> Self {
        match Duration::try_seconds(seconds) {
            Some(d) if seconds > 0 => Self::Limited(d),
            _ => Self::Unlimited,
        }
    }

    /// Whether a session created at `created_at` still resolves at `now`.
    /// As in the Flask API, a session is valid up to and including the
    /// instant `created_at + lifetime`, and expired after it.
    pub fn is_valid_at(&self, created_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        match self {
            Self::Unlimited => true,
            Self::Limited(d) => created_at
                .checked_add_signed(*d)
                .is_none_or(|end| end >= now),
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

    fn session_at(created: DateTime<Utc>, last_used: DateTime<Utc>) -> Session {
        Session {
            id: SessionId::generate(),
            key: SessionKey::digest_of("t"),
            user_id: UserId::generate(),
            created_at: created,
            updated_at: created,
            last_used_at: last_used,
            client_address: None,
            user_agent: None,
        }
    }

    #[test]
    fn idle_sessions_end_at_the_idle_timeout_after_their_last_use() {
        let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let rules = SessionRules {
            lifetime: SessionLifetime::from_seconds(3600),
            idle_timeout: Some(Duration::seconds(300)),
        };
        let session = session_at(t0, t0 + Duration::seconds(100));
        assert!(rules.is_live(&session, t0 + Duration::seconds(400)));
        assert!(!rules.is_live(&session, t0 + Duration::seconds(401)));
    }

    #[test]
    fn activity_never_extends_the_absolute_lifetime() {
        let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let rules = SessionRules {
            lifetime: SessionLifetime::from_seconds(3600),
            idle_timeout: Some(Duration::seconds(300)),
        };
        let used_just_now = session_at(t0, t0 + Duration::seconds(3600));
        assert!(rules.is_live(&used_just_now, t0 + Duration::seconds(3600)));
        assert!(!rules.is_live(&used_just_now, t0 + Duration::seconds(3601)));
    }

    #[test]
    fn activity_is_recorded_at_most_once_per_min_of_a_minute_and_half_the_idle_timeout() {
        let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let session = session_at(t0, t0);
        let short = SessionRules {
            lifetime: SessionLifetime::Unlimited,
            idle_timeout: Some(Duration::seconds(40)),
        };
        assert_eq!(short.touch_interval(), Duration::seconds(20));
        assert!(!short.needs_touch(&session, t0 + Duration::seconds(19)));
        assert!(short.needs_touch(&session, t0 + Duration::seconds(20)));
        let long = SessionRules {
            lifetime: SessionLifetime::Unlimited,
            idle_timeout: Some(Duration::hours(2)),
        };
        assert_eq!(long.touch_interval(), Duration::seconds(60));
        assert_eq!(
            SessionRules::lifetime(SessionLifetime::Unlimited).touch_interval(),
            Duration::seconds(60)
        );
    }

    #[test]
    fn token_debug_is_redacted() {
        let token = SessionToken::from_cookie("very-secret");
        assert!(!format!("{token:?}").contains("very-secret"));
    }
}
