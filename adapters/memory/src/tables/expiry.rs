//! Session expiry: which sessions were created or last used before the
//! cutoffs, counted, listed or deleted.

use chrono::{DateTime, Utc};

use domain::SessionKey;

use super::Tables;
use super::stored::{Digest, Stored, key_of};

impl Tables {
    /// How many sessions [`Self::delete_expired_sessions`] with the same
    /// cutoffs would keep.
    pub fn count_live_sessions(
        &self,
        created_before: Option<DateTime<Utc>>,
        last_used_before: Option<DateTime<Utc>>,
    ) -> u64 {
        let expired = Expiry::new(created_before, last_used_before);
        let live = self.sessions.values().filter(|s| !expired.holds(s)).count();
        u64::try_from(live).unwrap_or(u64::MAX)
    }

    /// The keys of every session created before `created_before` or last
    /// used before `last_used_before` (only those sessions' keys are made).
    pub fn expired_session_keys(
        &self,
        created_before: Option<DateTime<Utc>>,
        last_used_before: Option<DateTime<Utc>>,
    ) -> Vec<SessionKey> {
        self.expired_digests(Expiry::new(created_before, last_used_before))
            .iter()
            .map(key_of)
            .collect()
    }

    /// Removes every session created before `created_before` or last used
    /// before `last_used_before`; how many.
    pub fn delete_expired_sessions(
        &mut self,
        created_before: Option<DateTime<Utc>>,
        last_used_before: Option<DateTime<Utc>>,
    ) -> u64 {
        let dead = self.expired_digests(Expiry::new(created_before, last_used_before));
        for key in &dead {
            self.delete_digest(key);
        }
        dead.len() as u64
    }

    fn expired_digests(&self, expired: Expiry) -> Vec<Digest> {
        self.sessions
            .iter()
            .filter(|(_, s)| expired.holds(s))
            .map(|(digest, _)| *digest)
            .collect()
    }
}

/// The cutoffs of expiry: a session created before the first or last used
/// before the second has expired.
#[derive(Clone, Copy)]
struct Expiry {
    created_before: Option<DateTime<Utc>>,
    last_used_before: Option<DateTime<Utc>>,
}

impl Expiry {
    fn new(created_before: Option<DateTime<Utc>>, last_used_before: Option<DateTime<Utc>>) -> Self {
        Self {
            created_before,
            last_used_before,
        }
    }

    fn holds(self, session: &Stored) -> bool {
        self.created_before.is_some_and(|c| session.created_at < c)
            || self
                .last_used_before
                .is_some_and(|l| session.last_used_at < l)
    }
}
