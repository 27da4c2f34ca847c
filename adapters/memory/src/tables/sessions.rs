//! The sessions: stored by their key's digest, indexed by user, looked
//! up, touched and deleted.

use chrono::{DateTime, Utc};

use domain::{Session, SessionKey, UserId};

use super::Tables;
use super::stored::{Digest, Stored, digest};

impl Tables {
    /// Loads a session as stored.
    pub fn load_session(&mut self, session: Session) {
        let digest = digest(&session.key);
        if let Some(previous) = self.sessions.remove(&digest) {
            self.unlink_session(&digest, previous.user_id);
        }
        let keys = self.sessions_by_user.entry(session.user_id).or_default();
        // Most users have one session or a few: room for exactly those (a
        // growing vector takes room for four at the first one); past four
        // it grows as usual.
        if keys.len() < 4 {
            keys.reserve_exact(1);
        }
        keys.push(digest);
        self.sessions.insert(digest, Stored::from(session));
    }

    /// Every session, oldest first (by creation, then id), each made as it
    /// is reached: what the sessions file lists, without a copy of them all.
    pub fn sessions_oldest_first(&self) -> impl ExactSizeIterator<Item = Session> + '_ {
        let mut all: Vec<(&Digest, &Stored)> = self.sessions.iter().collect();
        all.sort_by_key(|(_, s)| (s.created_at, s.id.as_uuid()));
        all.into_iter()
            .map(|(digest, stored)| stored.session(digest))
    }

    /// The session stored under `key`.
    pub fn session(&self, key: &SessionKey) -> Option<Session> {
        let digest = digest(key);
        self.sessions
            .get(&digest)
            .map(|stored| stored.session(&digest))
    }

    /// Adds (or replaces) a session.
    pub fn insert_session(&mut self, session: &Session) {
        self.load_session(session.clone());
    }

    /// Removes a session; `false` when there is none.
    pub fn delete_session(&mut self, key: &SessionKey) -> bool {
        self.delete_digest(&digest(key))
    }

    pub(super) fn delete_digest(&mut self, digest: &Digest) -> bool {
        match self.sessions.remove(digest) {
            Some(session) => {
                self.unlink_session(digest, session.user_id);
                true
            }
            None => false,
        }
    }

    fn unlink_session(&mut self, gone: &Digest, user_id: UserId) {
        if let Some(keys) = self.sessions_by_user.get_mut(&user_id) {
            keys.retain(|key| key != gone);
            if keys.is_empty() {
                self.sessions_by_user.remove(&user_id);
            }
        }
    }

    /// Records activity on a session; `false` when there is none.
    pub fn touch_session(&mut self, key: &SessionKey, at: DateTime<Utc>) -> bool {
        match self.sessions.get_mut(&digest(key)) {
            Some(session) => {
                session.last_used_at = at;
                true
            }
            None => false,
        }
    }

    /// Every session of a user, oldest first.
    pub fn sessions_of(&self, user_id: &UserId) -> Vec<Session> {
        let mut found: Vec<Session> = self
            .sessions_by_user
            .get(user_id)
            .into_iter()
            .flatten()
            .filter_map(|key| self.sessions.get(key).map(|s| s.session(key)))
            .collect();
        found.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.key.cmp(&b.key))
        });
        found
    }

    /// Removes every session of a user but `except`; how many.
    pub fn delete_sessions_of(&mut self, user_id: &UserId, except: Option<&SessionKey>) -> u64 {
        let except = except.map(digest);
        let keys: Vec<Digest> = self
            .sessions_by_user
            .get(user_id)
            .into_iter()
            .flatten()
            .filter(|key| Some(**key) != except)
            .copied()
            .collect();
        for key in &keys {
            self.delete_digest(key);
        }
        keys.len() as u64
    }
}
