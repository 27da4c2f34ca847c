//! Users and sessions with the indexes every look-up of the storage ports
//! needs, shared by the memory store and the file store.
//!
//! Here: the tables and their indexes; in the submodules, the users (with
//! the email index), the sessions, expiry, and how a session and a user's
//! email are kept.

mod expiry;
mod holders;
mod sessions;
mod stored;
mod users;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use domain::{User, UserId};

use holders::Holders;
use stored::{Digest, Stored};

/// Users and sessions with the indexes every look-up of the ports needs:
/// no operation scans all users or all sessions, except listing, counting
/// and pruning by age.
#[derive(Debug, Default, Clone)]
pub struct Tables {
    /// Users by insertion position: listing order without the cost of
    /// keeping a dense vector ordered through deletions.
    users: BTreeMap<u64, User>,
    positions: HashMap<UserId, u64>,
    next_position: u64,
    /// Users by their email folded to lower case ([`Email::folded`](domain::Email::folded)), in
    /// load order: every look-up by email, exact or ignoring case, starts
    /// here. Only the Flask API's data can put two users under one key
    /// (emails equal, or differing only in case); this service refuses
    /// such new accounts.
    by_email: HashMap<String, Holders>,
    /// Sessions by their key's digest as bytes. The key's hex text is not
    /// kept (64 bytes and a pointer per session): it is written out again
    /// from the digest when a session is handed out.
    sessions: HashMap<Digest, Stored>,
    sessions_by_user: HashMap<UserId, Vec<Digest>>,
}

impl Tables {
    /// Empty tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes room for this many more users and sessions, so that loading
    /// a large file grows no index step by step (each step leaves the
    /// previous, smaller index behind in the allocator).
    pub fn reserve(&mut self, users: usize, sessions: usize) {
        self.positions.reserve(users);
        self.by_email.reserve(users);
        self.sessions_by_user.reserve(users);
        self.sessions.reserve(sessions);
    }

    /// How many sessions there are.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }
}
