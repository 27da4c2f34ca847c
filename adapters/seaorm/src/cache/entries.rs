//! The sessions a cache holds, by digest and by user, and the epoch that
//! every change bumps.

use std::collections::HashMap;

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

    pub(super) fn clear(&mut self) {
        self.by_digest.clear();
        self.by_user.clear();
    }
}
