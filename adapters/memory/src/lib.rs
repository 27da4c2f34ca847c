//! Storage in process memory.
//!
//! [`Tables`] are the indexed collections (users by id and by email,
//! sessions by key and by user); [`MemoryStore`] serves both storage ports
//! from them. The file adapter keeps the same tables in memory and persists
//! them, so both adapters share one implementation of the look-ups.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Mutex, RwLock};

use domain::{
    AccountKey, AttemptLog, Email, FailedAttempt, FailureWindow, RepositoryError, Session,
    SessionKey, SessionRepository, User, UserId, UserRepository,
};

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
    by_email: HashMap<Email, UserId>,
    /// Later users sharing an indexed email, in load order. Only the Flask
    /// API's data can hold such users; this service refuses duplicates.
    shadowed: HashMap<Email, VecDeque<UserId>>,
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
        match self.by_email.get(&user.email) {
            Some(first) if *first != user.id => {
                self.shadowed
                    .entry(user.email.clone())
                    .or_default()
                    .push_back(user.id);
            }
            _ => {
                self.by_email.insert(user.email.clone(), user.id);
            }
        }
        let position = match self.positions.get(&user.id) {
            Some(position) => *position,
            None => {
                self.next_position += 1;
                self.positions.insert(user.id, self.next_position);
                self.next_position
            }
        };
        self.users.insert(position, user);
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
        self.positions
            .get(id)
            .and_then(|position| self.users.get(position))
    }

    /// The user with this email.
    pub fn user_by_email(&self, email: &Email) -> Option<&User> {
        self.by_email.get(email).and_then(|id| self.user(id))
    }

    /// Adds a user.
    ///
    /// # Errors
    /// [`RepositoryError::DuplicateEmail`] when the email is taken.
    pub fn insert_user(&mut self, user: &User) -> Result<(), RepositoryError> {
        if self.by_email.contains_key(&user.email) || self.positions.contains_key(&user.id) {
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
        let Some(position) = self.positions.get(&user.id).copied() else {
            return Ok(false);
        };
        let Some(current) = self.users.get(&position) else {
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
        self.users.insert(position, user.clone());
        Ok(true)
    }

    /// Removes a user and their sessions; `false` when there is none.
    pub fn delete_user(&mut self, id: &UserId) -> bool {
        let Some(position) = self.positions.remove(id) else {
            return false;
        };
        let Some(user) = self.users.remove(&position) else {
            return false;
        };
        self.forget_email(&user.email, id);
        self.delete_sessions_of(id, None);
        true
    }

    /// Drops `id`'s claim on `email`; a user it shadowed (legacy data only)
    /// takes the index over.
    fn forget_email(&mut self, email: &Email, id: &UserId) {
        if let Some(shadows) = self.shadowed.get_mut(email) {
            shadows.retain(|shadow| shadow != id);
        }
        if self.by_email.get(email) == Some(id) {
            self.by_email.remove(email);
            let next = self.shadowed.get_mut(email).and_then(VecDeque::pop_front);
            if let Some(next) = next {
                self.by_email.insert(email.clone(), next);
            }
        }
        if self.shadowed.get(email).is_some_and(VecDeque::is_empty) {
            self.shadowed.remove(email);
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

    /// Records activity on a session; `false` when there is none.
    pub fn touch_session(&mut self, key: &SessionKey, at: DateTime<Utc>) -> bool {
        match self.sessions.get_mut(key) {
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
            .filter_map(|key| self.sessions.get(key))
            .cloned()
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
        let keys: Vec<SessionKey> = self
            .sessions_by_user
            .get(user_id)
            .into_iter()
            .flatten()
            .filter(|key| Some(*key) != except)
            .cloned()
            .collect();
        for key in &keys {
            self.delete_session(key);
        }
        keys.len() as u64
    }

    /// Removes every session created before `created_before` or last used
    /// before `last_used_before`; how many.
    pub fn delete_expired_sessions(
        &mut self,
        created_before: Option<DateTime<Utc>>,
        last_used_before: Option<DateTime<Utc>>,
    ) -> u64 {
        let dead: Vec<SessionKey> = self
            .sessions
            .values()
            .filter(|s| {
                created_before.is_some_and(|c| s.created_at < c)
                    || last_used_before.is_some_and(|l| s.last_used_at < l)
            })
            .map(|s| s.key.clone())
            .collect();
        for key in &dead {
            self.delete_session(key);
        }
        dead.len() as u64
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

    async fn touch(&self, key: &SessionKey, at: DateTime<Utc>) -> Result<bool, RepositoryError> {
        Ok(self.write().touch_session(key, at))
    }

    async fn list_by_user(&self, user_id: &UserId) -> Result<Vec<Session>, RepositoryError> {
        Ok(self.read().sessions_of(user_id))
    }

    async fn delete_by_user(
        &self,
        user_id: &UserId,
        except: Option<&SessionKey>,
    ) -> Result<u64, RepositoryError> {
        Ok(self.write().delete_sessions_of(user_id, except))
    }

    async fn delete_expired(
        &self,
        created_before: Option<DateTime<Utc>>,
        last_used_before: Option<DateTime<Utc>>,
    ) -> Result<u64, RepositoryError> {
        Ok(self
            .write()
            .delete_expired_sessions(created_before, last_used_before))
    }
}

/// Failed password checks in process memory, indexed by account, by
/// address and by both, so each count looks at one short list. Used by the
/// memory and file storages: their limits reset when the process restarts.
#[derive(Debug, Default)]
pub struct MemoryAttemptLog {
    lists: Mutex<AttemptLists>,
}

#[derive(Debug, Default)]
struct AttemptLists {
    by_account: HashMap<AccountKey, VecDeque<DateTime<Utc>>>,
    by_address: HashMap<String, VecDeque<DateTime<Utc>>>,
    by_both: HashMap<(AccountKey, String), VecDeque<DateTime<Utc>>>,
}

impl MemoryAttemptLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    fn lists(&self) -> std::sync::MutexGuard<'_, AttemptLists> {
        self.lists
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn window(times: Option<&VecDeque<DateTime<Utc>>>, since: DateTime<Utc>) -> FailureWindow {
    let mut found = FailureWindow::default();
    for at in times.into_iter().flatten().filter(|at| **at > since) {
        found.count += 1;
        found.oldest = Some(found.oldest.map_or(*at, |o| o.min(*at)));
        found.latest = Some(found.latest.map_or(*at, |l| l.max(*at)));
    }
    found
}

fn prune_lists<K: std::hash::Hash + Eq>(
    lists: &mut HashMap<K, VecDeque<DateTime<Utc>>>,
    before: DateTime<Utc>,
) -> u64 {
    let mut pruned = 0;
    lists.retain(|_, times| {
        let len = times.len();
        times.retain(|at| *at >= before);
        pruned += (len - times.len()) as u64;
        !times.is_empty()
    });
    pruned
}

#[async_trait]
impl AttemptLog for MemoryAttemptLog {
    async fn record_failure(&self, attempt: &FailedAttempt) -> Result<(), RepositoryError> {
        let mut lists = self.lists();
        lists
            .by_account
            .entry(attempt.account.clone())
            .or_default()
            .push_back(attempt.at);
        lists
            .by_address
            .entry(attempt.address.clone())
            .or_default()
            .push_back(attempt.at);
        lists
            .by_both
            .entry((attempt.account.clone(), attempt.address.clone()))
            .or_default()
            .push_back(attempt.at);
        Ok(())
    }

    async fn failures(
        &self,
        account: Option<&AccountKey>,
        address: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<FailureWindow, RepositoryError> {
        let lists = self.lists();
        Ok(match (account, address) {
            (Some(account), Some(address)) => window(
                lists.by_both.get(&(account.clone(), address.to_owned())),
                since,
            ),
            (Some(account), None) => window(lists.by_account.get(account), since),
            (None, Some(address)) => window(lists.by_address.get(address), since),
            (None, None) => {
                let all: VecDeque<DateTime<Utc>> =
                    lists.by_account.values().flatten().copied().collect();
                window(Some(&all), since)
            }
        })
    }

    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, RepositoryError> {
        let mut lists = self.lists();
        let pruned = prune_lists(&mut lists.by_account, before);
        prune_lists(&mut lists.by_address, before);
        prune_lists(&mut lists.by_both, before);
        Ok(pruned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use domain::PasswordHash;

    fn user(email: &str) -> User {
        let at = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        User {
            id: UserId::generate(),
            email: Email::parse(email).unwrap(),
            password_hash: PasswordHash::Unusable,
            first_name: None,
            last_name: None,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn users_keep_insertion_order_through_deletions_and_updates() {
        let mut tables = Tables::new();
        let users: Vec<User> = ["a@x", "b@x", "c@x", "d@x"].into_iter().map(user).collect();
        for u in &users {
            tables.insert_user(u).unwrap();
        }
        assert!(tables.delete_user(&users[1].id));
        let renamed = User {
            first_name: Some("C".into()),
            ..users[2].clone()
        };
        assert!(tables.update_user(&renamed).unwrap());
        let listed: Vec<&str> = tables.users().map(|u| u.email.as_str()).collect();
        assert_eq!(listed, ["a@x", "c@x", "d@x"]);
        assert_eq!(
            tables.user(&users[2].id).unwrap().first_name.as_deref(),
            Some("C")
        );
    }

    #[test]
    fn a_legacy_duplicate_email_passes_to_the_next_user_when_the_first_is_deleted() {
        let mut tables = Tables::new();
        let first = user("same@x");
        let second = user("same@x");
        let third = user("same@x");
        for u in [&first, &second, &third] {
            tables.load_user(u.clone());
        }
        let email = Email::parse("same@x").unwrap();
        assert_eq!(tables.user_by_email(&email).unwrap().id, first.id);
        assert!(
            tables.delete_user(&second.id),
            "a shadowed user can be deleted"
        );
        assert!(tables.delete_user(&first.id));
        assert_eq!(tables.user_by_email(&email).unwrap().id, third.id);
        assert!(tables.delete_user(&third.id));
        assert!(tables.user_by_email(&email).is_none());
    }
}
