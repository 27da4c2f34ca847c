//! A session as the tables keep it: stored under its key's digest as
//! bytes, the key's hex text made again when the session is handed out.

use chrono::{DateTime, Utc};

use domain::{Session, SessionId, SessionKey, UserId};

/// A session key's SHA-256 digest as bytes.
pub(super) type Digest = [u8; 32];

/// A session as the tables keep it: everything but its key, which is the
/// digest it is stored under.
#[derive(Debug, Clone)]
pub(super) struct Stored {
    pub(super) id: SessionId,
    pub(super) user_id: UserId,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
    pub(super) last_used_at: DateTime<Utc>,
    pub(super) client_address: Option<String>,
    pub(super) user_agent: Option<String>,
}

impl From<Session> for Stored {
    fn from(session: Session) -> Self {
        Self {
            id: session.id,
            user_id: session.user_id,
            created_at: session.created_at,
            updated_at: session.updated_at,
            last_used_at: session.last_used_at,
            client_address: session.client_address,
            user_agent: session.user_agent,
        }
    }
}

impl Stored {
    /// The session stored under `digest`.
    pub(super) fn session(&self, digest: &Digest) -> Session {
        Session {
            id: self.id,
            key: key_of(digest),
            user_id: self.user_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_used_at: self.last_used_at,
            client_address: self.client_address.clone(),
            user_agent: self.user_agent.clone(),
        }
    }
}

/// The key whose digest is `digest`: its bytes as lowercase hex.
pub(super) fn key_of(digest: &Digest) -> SessionKey {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(64);
    for byte in digest {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    SessionKey::parse(&text).unwrap_or_else(|| unreachable!("64 hex digits are a key"))
}

/// The bytes of a key's hex digest (valid hex by construction of
/// [`SessionKey`]).
pub(super) fn digest(key: &SessionKey) -> Digest {
    fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => 0,
        }
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes
        .iter_mut()
        .zip(key.as_str().as_bytes().chunks_exact(2))
    {
        *byte = (nibble(pair[0]) << 4) | nibble(pair[1]);
    }
    bytes
}
