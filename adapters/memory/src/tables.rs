//! Users and sessions with the indexes every look-up of the storage ports
//! needs, shared by the memory store and the file store.

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};

use domain::{
    Email, NameChange, PasswordHash, RepositoryError, Session, SessionId, SessionKey, User, UserId,
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
    /// Users by their email folded to lower case ([`Email::folded`]), in
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

    /// Loads a user as stored, keeping file order. Data from the Flask API
    /// may hold two users with one email: the first one loaded keeps the
    /// email index, as the Flask API's search found the first.
    pub fn load_user(&mut self, user: User) {
        let (Claim::Existing(position) | Claim::New(position)) = self.claim(&user);
        self.users.insert(position, user);
    }

    /// Loads users as stored, in order, exactly as [`Tables::load_user`]
    /// one by one would, but builds the listing of the new ones in one go:
    /// its tree nodes are then full, where inserting one by one at the end
    /// leaves them about half empty (what opening a large file does).
    pub fn load_users(&mut self, users: impl IntoIterator<Item = User>) {
        let first_new = self.next_position + 1;
        let mut fresh: Vec<(u64, User)> = Vec::new();
        for user in users {
            match self.claim(&user) {
                Claim::Existing(position) if position >= first_new => {
                    if let Some(slot) = usize::try_from(position - first_new)
                        .ok()
                        .and_then(|i| fresh.get_mut(i))
                    {
                        slot.1 = user;
                    }
                }
                Claim::Existing(position) => {
                    self.users.insert(position, user);
                }
                Claim::New(position) => fresh.push((position, user)),
            }
        }
        // Every new position is above every position held: appending a
        // tree built from them (sorted already) keeps the order.
        let mut fresh: BTreeMap<u64, User> = fresh.into_iter().collect();
        self.users.append(&mut fresh);
    }

    /// Indexes `user`'s email and id as [`Tables::load_user`] does; where
    /// the user goes in the listing.
    fn claim(&mut self, user: &User) -> Claim {
        self.index_email(&user.email, user.id, Place::Last);
        match self.positions.get(&user.id) {
            Some(position) => Claim::Existing(*position),
            None => {
                self.next_position += 1;
                self.positions.insert(user.id, self.next_position);
                Claim::New(self.next_position)
            }
        }
    }

    /// Makes the stored user with this id exactly `user`, whatever the
    /// tables held: inserted at the end when absent, replaced in place
    /// (keeping its listing position) when present. Never refuses: an
    /// email held by another user is shadowed as [`Tables::load_user`]
    /// does. Replaying a journal uses it, which makes replaying a change
    /// twice harmless.
    pub fn restore_user(&mut self, user: User) {
        let Some(position) = self.positions.get(&user.id).copied() else {
            self.load_user(user);
            return;
        };
        let old_email = self
            .users
            .get(&position)
            .map(|current| current.email.clone())
            .filter(|email| *email != user.email);
        if let Some(old_email) = old_email {
            self.forget_email(&old_email, &user.id);
            self.index_email(&user.email, user.id, Place::Last);
        }
        self.users.insert(position, user);
    }

    /// Where a user stands in the listing order; with
    /// [`Tables::reinsert_user`] it puts a removed user back exactly where
    /// it was (undoing a change that could not be made durable).
    pub fn position_of(&self, id: &UserId) -> Option<u64> {
        self.positions.get(id).copied()
    }

    /// Puts a user back at `position` (from [`Tables::position_of`]), which
    /// must be free.
    pub fn reinsert_user(&mut self, position: u64, user: User) {
        // A removed user was, as a rule, alone under its key (only legacy
        // data holds more), so it takes the first place back.
        self.index_email(&user.email, user.id, Place::First);
        self.positions.insert(user.id, position);
        self.next_position = self.next_position.max(position);
        self.users.insert(position, user);
    }

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

    /// Every user, in insertion order.
    pub fn users(&self) -> impl ExactSizeIterator<Item = &User> {
        self.users.values()
    }

    /// Every session, oldest first (by creation, then id), each made as it
    /// is reached: what the sessions file lists, without a copy of them all.
    pub fn sessions_oldest_first(&self) -> impl ExactSizeIterator<Item = Session> + '_ {
        let mut all: Vec<(&Digest, &Stored)> = self.sessions.iter().collect();
        all.sort_by_key(|(_, s)| (s.created_at, s.id.as_uuid()));
        all.into_iter()
            .map(|(digest, stored)| stored.session(digest))
    }

    /// The user with this id.
    pub fn user(&self, id: &UserId) -> Option<&User> {
        self.positions
            .get(id)
            .and_then(|position| self.users.get(position))
    }

    /// The users whose email equals `email` ignoring ASCII case, in load
    /// order.
    fn users_matching(&self, email: &Email) -> impl Iterator<Item = &User> {
        self.by_email
            .get(email.folded().as_ref())
            .map(Holders::ids)
            .unwrap_or_default()
            .iter()
            .filter_map(|id| self.user(id))
    }

    /// The user a login with this email names ([`Email::pick`]: an exact
    /// match, else the only match ignoring case, else none).
    pub fn user_by_email(&self, email: &Email) -> Option<&User> {
        email.pick(self.users_matching(email))
    }

    /// Whether `user` may be added as a new account.
    ///
    /// # Errors
    /// [`RepositoryError::DuplicateId`] when the id is taken,
    /// [`RepositoryError::DuplicateEmail`] when a user's email equals this
    /// one ignoring case.
    pub fn check_new_user(&self, user: &User) -> Result<(), RepositoryError> {
        if self.positions.contains_key(&user.id) {
            Err(RepositoryError::DuplicateId)
        } else if self.by_email.contains_key(user.email.folded().as_ref()) {
            Err(RepositoryError::DuplicateEmail)
        } else {
            Ok(())
        }
    }

    /// Whether `user` may be added from existing data: only an exactly
    /// equal email is a duplicate.
    ///
    /// # Errors
    /// [`RepositoryError::DuplicateId`] when the id is taken,
    /// [`RepositoryError::DuplicateEmail`] when a user has exactly this
    /// email.
    pub fn check_imported_user(&self, user: &User) -> Result<(), RepositoryError> {
        if self.positions.contains_key(&user.id) {
            Err(RepositoryError::DuplicateId)
        } else if self
            .users_matching(&user.email)
            .any(|u| u.email == user.email)
        {
            Err(RepositoryError::DuplicateEmail)
        } else {
            Ok(())
        }
    }

    /// Adds a new account.
    ///
    /// # Errors
    /// As [`Tables::check_new_user`].
    pub fn insert_user(&mut self, user: &User) -> Result<(), RepositoryError> {
        self.check_new_user(user)?;
        self.load_user(user.clone());
        Ok(())
    }

    /// Adds a user from existing data.
    ///
    /// # Errors
    /// As [`Tables::check_imported_user`].
    pub fn insert_imported_user(&mut self, user: &User) -> Result<(), RepositoryError> {
        self.check_imported_user(user)?;
        self.load_user(user.clone());
        Ok(())
    }

    /// Whether `user` (stored already) may take its email: `false` when
    /// the email changes and another user's equals it ignoring case.
    pub fn may_take_email(&self, user: &User) -> bool {
        match self.user(&user.id) {
            Some(current) if current.email != user.email => self
                .by_email
                .get(user.email.folded().as_ref())
                .is_none_or(|holders| holders.ids().iter().all(|id| *id == user.id)),
            _ => true,
        }
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
            if !self.may_take_email(user) {
                return Err(RepositoryError::DuplicateEmail);
            }
            let old_email = current.email.clone();
            self.forget_email(&old_email, &user.id);
            self.index_email(&user.email, user.id, Place::Last);
        }
        self.users.insert(position, user.clone());
        Ok(true)
    }

    /// The user with this id as `names` would rename them at `at` (only
    /// the names given and `updated_at` differ); `None` when there is none.
    /// The caller stores it while still holding the tables, so nothing
    /// changed in between is overwritten.
    pub fn renamed(&self, id: &UserId, names: &NameChange, at: DateTime<Utc>) -> Option<User> {
        let mut user = self.user(id)?.clone();
        names.apply(&mut user);
        user.updated_at = at;
        Some(user)
    }

    /// The user with this id with the password hash `new` (and
    /// `updated_at` set when given), only if the stored hash is still
    /// `expected`; `None` when there is no such user or the hash differs.
    pub fn with_password_hash(
        &self,
        id: &UserId,
        expected: &PasswordHash,
        new: &PasswordHash,
        at: Option<DateTime<Utc>>,
    ) -> Option<User> {
        let current = self.user(id).filter(|u| u.password_hash == *expected)?;
        let mut user = current.clone();
        user.password_hash = new.clone();
        if let Some(at) = at {
            user.updated_at = at;
        }
        Some(user)
    }

    /// The user with this id with the administrator flag `is_admin` (and
    /// `updated_at` set to `at` when the flag changes); `None` when there
    /// is none. The caller stores it while still holding the tables.
    ///
    /// # Errors
    /// [`RepositoryError::LastAdmin`] when clearing the flag of the only
    /// administrator (found by a scan that stops at the first other one:
    /// revoking is rare).
    pub fn with_admin(
        &self,
        id: &UserId,
        is_admin: bool,
        at: DateTime<Utc>,
    ) -> Result<Option<User>, RepositoryError> {
        let Some(current) = self.user(id) else {
            return Ok(None);
        };
        let mut user = current.clone();
        if user.is_admin == is_admin {
            return Ok(Some(user));
        }
        if user.is_admin && !self.users().any(|other| other.is_admin && other.id != *id) {
            return Err(RepositoryError::LastAdmin);
        }
        user.is_admin = is_admin;
        user.updated_at = at;
        Ok(Some(user))
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

    /// Files `id` under `email`'s key, at `place` among the users there
    /// (once: an id already there keeps its place).
    fn index_email(&mut self, email: &Email, id: UserId, place: Place) {
        match self.by_email.get_mut(email.folded().as_ref()) {
            Some(holders) => holders.add(id, place),
            None => {
                self.by_email
                    .insert(email.folded().into_owned(), Holders::One(id));
            }
        }
    }

    /// Drops `id` from `email`'s key; the users left there keep their
    /// order (the next exact duplicate, legacy data only, now comes first).
    fn forget_email(&mut self, email: &Email, id: &UserId) {
        let key = email.folded();
        if let Some(holders) = self.by_email.get_mut(key.as_ref())
            && holders.remove(id)
        {
            self.by_email.remove(key.as_ref());
        }
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

    fn delete_digest(&mut self, digest: &Digest) -> bool {
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

    /// How many sessions there are.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
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

/// The users filed under one folded email: almost always one, so one
/// needs no allocation of its own.
#[derive(Debug, Clone)]
enum Holders {
    One(UserId),
    /// Two or more, in load order (legacy data only).
    Many(Vec<UserId>),
}

/// Where an id goes among the [`Holders`] of a key.
#[derive(Clone, Copy)]
enum Place {
    First,
    Last,
}

impl Holders {
    fn ids(&self) -> &[UserId] {
        match self {
            Self::One(id) => std::slice::from_ref(id),
            Self::Many(ids) => ids,
        }
    }

    fn add(&mut self, id: UserId, place: Place) {
        if self.ids().contains(&id) {
            return;
        }
        let mut ids = self.ids().to_vec();
        match place {
            Place::First => ids.insert(0, id),
            Place::Last => ids.push(id),
        }
        *self = Self::Many(ids);
    }

    /// Removes `id`; `true` when none is left.
    fn remove(&mut self, id: &UserId) -> bool {
        match self {
            Self::One(one) => one == id,
            Self::Many(ids) => {
                ids.retain(|held| held != id);
                match ids.as_slice() {
                    [] => true,
                    [last] => {
                        *self = Self::One(*last);
                        false
                    }
                    _ => false,
                }
            }
        }
    }
}

/// Where a user goes in the listing.
enum Claim {
    /// In place of the user with the same id.
    Existing(u64),
    /// At the end, at this new position.
    New(u64),
}

/// A session key's SHA-256 digest as bytes.
type Digest = [u8; 32];

/// A session as the tables keep it: everything but its key, which is the
/// digest it is stored under.
#[derive(Debug, Clone)]
struct Stored {
    id: SessionId,
    user_id: UserId,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    last_used_at: DateTime<Utc>,
    client_address: Option<String>,
    user_agent: Option<String>,
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
    fn session(&self, digest: &Digest) -> Session {
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
fn key_of(digest: &Digest) -> SessionKey {
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
fn digest(key: &SessionKey) -> Digest {
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
            is_admin: false,
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
    fn loading_users_at_once_is_loading_them_one_by_one() {
        let mut first = user("a@x");
        let second = user("b@x");
        let shadow = user("a@x");
        let early = user("e@x");
        let mut one_by_one = Tables::new();
        let mut at_once = Tables::new();
        for tables in [&mut one_by_one, &mut at_once] {
            tables.load_user(early.clone());
        }
        let renamed_early = User {
            first_name: Some("E".into()),
            ..early.clone()
        };
        let batch = || {
            let mut again = first.clone();
            again.last_name = Some("Again".into());
            vec![
                first.clone(),
                second.clone(),
                shadow.clone(),
                again,
                renamed_early.clone(),
            ]
        };
        for u in batch() {
            one_by_one.load_user(u);
        }
        at_once.load_users(batch());
        let listed = |t: &Tables| t.users().cloned().collect::<Vec<_>>();
        assert_eq!(listed(&one_by_one), listed(&at_once));
        assert_eq!(listed(&at_once).len(), 4);
        assert_eq!(
            at_once.user(&first.id).unwrap().last_name.as_deref(),
            Some("Again")
        );
        let a = Email::parse("a@x").unwrap();
        assert_eq!(at_once.user_by_email(&a).unwrap().id, first.id);
        assert!(at_once.delete_user(&first.id));
        assert_eq!(at_once.user_by_email(&a).unwrap().id, shadow.id);
        first = user("z@x");
        at_once.insert_user(&first).unwrap();
        assert_eq!(at_once.users().last().unwrap().id, first.id);
        assert_eq!(at_once.position_of(&first.id), Some(5));
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
