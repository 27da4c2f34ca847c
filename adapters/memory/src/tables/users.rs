//! The users: loaded and restored in listing order, looked up by id and
//! by email, checked, changed and deleted, with the email index kept.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use domain::{Email, NameChange, PasswordHash, RepositoryError, User, UserId};

use super::Tables;
use super::holders::{Holders, Place};

impl Tables {
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

    /// Every user, in insertion order.
    pub fn users(&self) -> impl ExactSizeIterator<Item = &User> {
        self.users.values()
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
}

/// Where a user goes in the listing.
enum Claim {
    /// In place of the user with the same id.
    Existing(u64),
    /// At the end, at this new position.
    New(u64),
}
