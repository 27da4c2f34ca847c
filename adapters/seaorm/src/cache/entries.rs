//! The sessions a cache holds, by digest and by user, the epoch that
//! every change bumps, and what the latest changes named (so that a read
//! is discarded only when a change since named its session or user).

use std::collections::{HashMap, VecDeque};

use domain::{Session, User};
use uuid::Uuid;

/// What the cache keeps under a session's digest.
#[derive(Clone)]
pub(super) struct Entry {
    pub(super) session: Session,
    pub(super) user: User,
}

#[derive(Default)]
pub(super) struct Entries {
    /// Bumped by every change heard or made; a read from the database is
    /// kept only if it did not move meanwhile.
    pub(super) epoch: u64,
    pub(super) by_digest: HashMap<String, Entry>,
    pub(super) by_user: HashMap<Uuid, Vec<String>>,
    /// What the latest [`RECENT`] changes named, newest last; the epoch
    /// after the last of them is `epoch`.
    recent: VecDeque<Named>,
}

/// How many changes [`Entries::changed_since`] can tell apart; a read
/// that raced more changes than this is discarded.
const RECENT: usize = 256;

/// What one change named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Named {
    Session(String),
    User(Uuid),
    Everything,
}

impl Entries {
    pub(super) fn remove_session(&mut self, digest: &str) {
        if let Some(entry) = self.by_digest.remove(digest) {
            let user = entry.user.id.as_uuid();
            if let Some(digests) = self.by_user.get_mut(&user) {
                digests.retain(|d| d != digest);
                if digests.is_empty() {
                    self.by_user.remove(&user);
                }
            }
        }
    }

    pub(super) fn remove_user(&mut self, user: &Uuid) {
        for digest in self.by_user.remove(user).unwrap_or_default() {
            self.by_digest.remove(&digest);
        }
    }

    /// Records a change naming `named` and bumps the epoch.
    pub(super) fn bump(&mut self, named: Named) {
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(named);
        self.epoch += 1;
    }

    /// Whether a change since `epoch` may concern the session `digest` of
    /// user `user` (or could not be told: too many changes since).
    pub(super) fn changed_since(&self, epoch: u64, digest: &str, user: &Uuid) -> bool {
        let Some(since) = self.epoch.checked_sub(epoch) else {
            return true;
        };
        let Ok(since) = usize::try_from(since) else {
            return true;
        };
        if since > self.recent.len() {
            return true;
        }
        self.recent
            .iter()
            .rev()
            .take(since)
            .any(|named| match named {
                Named::Session(d) => d == digest,
                Named::User(u) => u == user,
                Named::Everything => true,
            })
    }

    pub(super) fn clear(&mut self) {
        self.by_digest.clear();
        self.by_user.clear();
    }
}
