//! Storage in process memory.
//!
//! [`Tables`] are the indexed collections (users by id and by email,
//! sessions by key and by user); [`MemoryStore`] serves both storage ports
//! from them. The file adapter keeps the same tables in memory and persists
//! them, so both adapters share one implementation of the look-ups.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use domain::{
    Email, RepositoryError, Session, SessionKey, SessionRepository, User, UserId, UserRepository,
};

/// Users and sessions with the indexes every look-up of the ports needs:
/// no operation scans all users or all sessions, except listing, counting
/// and pruning by age.
#[derive(Debug, Default, Clone)]
pub struct Tables {
    users: IndexMap<UserId, User>,
    by_email: HashMap<Email, UserId>,
    sessions: HashMap<SessionKey, Session>,
    sessions_by_user: HashMap<UserId, HashSet<SessionKey>>,
}

impl Tables {
    /// Empty tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads a user as stored, keeping file order. Data from the Flask API
    /// may hold two users with one email: the first one loaded keeps the
    /// email index, as the Flask API's search found the first.
    pub fn load_user(&mut self, user: User) {
        self.by_email.entry(user.email.clone()).or_insert(user.id);
        self.users.insert(user.id, user);
    }

    /// Loads a session as stored.
    pub fn load_session(&mut self, session: Session) {
        if let Some(previous) = self.sessions.remove(&session.key) {
            self.unlink_session(&previous);
        }
        self.sessions_by_user
            .entry(session.user_id)
            .or_default()
            .insert(session.key.clone());
        self.sessions.insert(session.key.clone(), session);
    }

    /// Every user, in insertion order.
    pub fn users(&self) -> impl ExactSizeIterator<Item = &User> {
        self.users.values()
    }

    /// Every session, in no particular order.
    pub fn sessions(&self) -> impl ExactSizeIterator<Item = &Session> {
        self.sessions.values()
    }

    /// The user with this id.
    pub fn user(&self, id: &UserId) -> Option<&User> {
        self.users.get(id)
    }

    /// The user with this email.
    pub fn user_by_email(&self, email: &Email) -> Option<&User> {
        self.by_email.get(email).and_then(|id| self.users.get(id))
    }

    /// Adds a user.
    ///
    /// # Errors
    /// [`RepositoryError::DuplicateEmail`] when the email is taken.
    pub fn insert_user(&mut self, user: &User) -> Result<(), RepositoryError> {
        if self.by_email.contains_key(&user.email) || self.users.contains_key(&user.id) {
            return Err(RepositoryError::DuplicateEmail);
        }
        self.load_user(user.clone());
        Ok(())
    }

    /// Replaces a user; `false` when there is none with that id.
    ///
    /// # Errors
    /// [`RepositoryError::DuplicateEmail`] when the new email is another
    /// user's.
    pub fn update_user(&mut self, user: &User) -> Result<bool, RepositoryError> {
        let Some(current) = self.users.get(&user.id) else {
            return Ok(false);
        };
        if current.email != user.email {
            if self.by_email.contains_key(&user.email) {
                return Err(RepositoryError::DuplicateEmail);
            }
            let old_email = current.email.clone();
            self.forget_email(&old_email, &user.id);
            self.by_email.insert(user.email.clone(), user.id);
        }
        self.users.insert(user.id, user.clone());
        Ok(true)
    }

    /// Removes a user and their sessions; `false` when there is none.
    pub fn delete_user(&mut self, id: &UserId) -> bool {
        let Some(user) = self.users.shift_remove(id) else {
            return false;
        };
        self.forget_email(&user.email, id);
        self.delete_sessions_of(id);
        true
    }

    fn forget_email(&mut self, email: &Email, id: &UserId) {
        if self.by_email.get(email) == Some(id) {
            self.by_email.remove(email);
            // Only legacy data can hold another user with this email; the
            // scan happens only then, when such a user is deleted.
            if let Some(other) = self
                .users
                .values()
                .find(|u| u.email == *email && u.id != *id)
            {
                self.by_email.insert(email.clone(), other.id);
            }
        }
    }

    /// The session stored under `key`.
    pub fn session(&self, key: &SessionKey) -> Option<&Session> {
        self.sessions.get(key)
    }

    /// Adds (or replaces) a session.
    pub fn insert_session(&mut self, session: &Session) {
        self.load_session(session.clone());
    }

    /// Removes a session; `false` when there is none.
    pub fn delete_session(&mut self, key: &SessionKey) -> bool {
        match self.sessions.remove(key) {
            Some(session) => {
                self.unlink_session(&session);
                true
            }
            None => false,
        }
    }

    fn unlink_session(&mut self, session: &Session) {
        if let Some(keys) = self.sessions_by_user.get_mut(&session.user_id) {
            keys.remove(&session.key);
            if keys.is_empty() {
                self.sessions_by_user.remove(&session.user_id);
            }
        }
    }

    /// Removes every session of a user; how many.
    pub fn delete_sessions_of(&mut self, user_id: &UserId) -> u64 {
        let keys = self.sessions_by_user.remove(user_id).unwrap_or_default();
        for key in &keys {
            self.sessions.remove(key);
        }
        keys.len() as u64
    }

    /// Removes every session created before `cutoff`; how many.
    pub fn delete_sessions_created_before(&mut self, cutoff: DateTime<Utc>) -> u64 {
        let old: Vec<Session> = self
            .sessions
            .values()
            .filter(|s| s.created_at < cutoff)
            .cloned()
            .collect();
        for session in &old {
            self.delete_session(&session.key);
        }
        old.len() as u64
    }
}

/// Both storage ports over [`Tables`] in process memory. Nothing survives a
/// restart.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: RwLock<Tables>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tables> {
        // A panic while holding the lock cannot leave the tables half
        // updated (every mutation is a single map operation sequence that
        // does not panic), so a poisoned lock is still safe to use.
        self.tables
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tables> {
        self.tables
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl UserRepository for MemoryStore {
    async fn insert(&self, user: &User) -> Result<(), RepositoryError> {
        self.write().insert_user(user)
    }

    async fn get(&self, id: &UserId) -> Result<Option<User>, RepositoryError> {
        Ok(self.read().user(id).cloned())
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError> {
        Ok(self.read().user_by_email(email).cloned())
    }

    async fn list(&self) -> Result<Vec<User>, RepositoryError> {
        Ok(self.read().users().cloned().collect())
    }

    async fn count(&self) -> Result<u64, RepositoryError> {
        Ok(self.read().users().len() as u64)
    }

    async fn update(&self, user: &User) -> Result<bool, RepositoryError> {
        self.write().update_user(user)
    }

    async fn delete(&self, id: &UserId) -> Result<bool, RepositoryError> {
        Ok(self.write().delete_user(id))
    }
}

#[async_trait]
impl SessionRepository for MemoryStore {
    async fn insert(&self, session: &Session) -> Result<(), RepositoryError> {
        self.write().insert_session(session);
        Ok(())
    }

    async fn find(&self, key: &SessionKey) -> Result<Option<Session>, RepositoryError> {
        Ok(self.read().session(key).cloned())
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, RepositoryError> {
        Ok(self.write().delete_session(key))
    }

    async fn delete_by_user(&self, user_id: &UserId) -> Result<u64, RepositoryError> {
        Ok(self.write().delete_sessions_of(user_id))
    }

    async fn delete_created_before(&self, cutoff: DateTime<Utc>) -> Result<u64, RepositoryError> {
        Ok(self.write().delete_sessions_created_before(cutoff))
    }
}
