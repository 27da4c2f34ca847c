//! User management: listing, creating, renaming and deleting users.

use std::sync::Arc;

use crate::error::{CreateUserError, Failure, SetPasswordError};
use crate::password::{Password, PasswordRules};
use crate::ports::{Clock, PasswordHasher, PasswordStrength, SessionRepository, UserRepository};
use crate::service::AuthPorts;
use crate::truncate_to_seconds;
use crate::user::{Email, NameChange, User, UserId, check_names, own_words};

/// The fields of a new user, checked.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The login name.
    pub email: Email,
    /// Hashed before it is stored.
    pub password: Password,
    /// Optional.
    pub first_name: Option<String>,
    /// Optional.
    pub last_name: Option<String>,
}

impl NewUser {
    /// A new user from the fields a client sent, checked in the Flask API's
    /// order: the email first, then the password; then whether storage can
    /// keep the email and names.
    ///
    /// # Errors
    /// [`CreateUserError::EmailMissing`] or
    /// [`CreateUserError::PasswordMissing`] for an absent or empty field,
    /// [`CreateUserError::Field`] for one no storage could keep.
    pub fn parse(
        email: Option<String>,
        password: Option<String>,
        first_name: Option<String>,
        last_name: Option<String>,
    ) -> Result<Self, CreateUserError> {
        let email = email
            .and_then(Email::parse)
            .ok_or(CreateUserError::EmailMissing)?;
        let password = password
            .and_then(Password::parse)
            .ok_or(CreateUserError::PasswordMissing)?;
        email.check_new()?;
        check_names(first_name.as_deref(), last_name.as_deref())?;
        Ok(Self {
            email,
            password,
            first_name,
            last_name,
        })
    }
}

/// User management.
pub struct UserService {
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    passwords: PasswordRules,
    strength: Option<Arc<dyn PasswordStrength>>,
}

impl UserService {
    /// Wires the use case. `sessions` is the active policy's session store,
    /// so deleting a user also ends sessions kept outside the user storage.
    pub fn new(ports: &AuthPorts, passwords: PasswordRules) -> Self {
        Self {
            users: ports.users.clone(),
            sessions: ports.sessions.clone(),
            hasher: ports.hasher.clone(),
            clock: ports.clock.clone(),
            passwords,
            strength: ports.strength.clone(),
        }
    }

    /// Every user.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn list(&self) -> Result<Vec<User>, Failure> {
        Ok(self.users.list().await?)
    }

    /// How many users there are.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn count(&self) -> Result<u64, Failure> {
        Ok(self.users.count().await?)
    }

    /// Whether the user storage answers (the readiness probe).
    ///
    /// # Errors
    /// The failure that makes the storage not ready.
    pub async fn ping(&self) -> Result<(), Failure> {
        Ok(self.users.ping().await?)
    }

    /// The user with this id, or with this email when `key` is no id;
    /// `None` when there is none (the operator commands' way to name a
    /// user).
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn find(&self, key: &str) -> Result<Option<User>, Failure> {
        if let Some(id) = UserId::parse(key) {
            return Ok(self.users.get(&id).await?);
        }
        match Email::parse(key) {
            Some(email) => Ok(self.users.find_by_email(&email).await?),
            None => Ok(None),
        }
    }

    /// The user with this id; `None` when there is none.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn get(&self, id: &UserId) -> Result<Option<User>, Failure> {
        Ok(self.users.get(id).await?)
    }

    /// Creates a user with an Argon2id hash of the password, under the
    /// password rules (length, and strength when configured).
    ///
    /// # Errors
    /// [`CreateUserError`] saying what was wrong.
    pub async fn create(&self, new: NewUser) -> Result<User, CreateUserError> {
        let NewUser {
            email,
            password,
            first_name,
            last_name,
        } = new;
        self.passwords.check_new(
            &password,
            self.strength.as_deref(),
            &own_words(&email, first_name.as_deref(), last_name.as_deref()),
        )?;
        // Refuse a known duplicate before paying for Argon2; `insert` still
        // enforces uniqueness against a concurrent creation.
        if self.users.find_by_email(&email).await?.is_some() {
            return Err(CreateUserError::DuplicateEmail);
        }
        let password_hash = self.hasher.hash(&password).await.map_err(Failure::from)?;
        let now = truncate_to_seconds(self.clock.now());
        let user = User {
            id: UserId::generate(),
            email,
            password_hash,
            first_name,
            last_name,
            created_at: now,
            updated_at: now,
        };
        self.users.insert(&user).await?;
        Ok(user)
    }

    /// Sets the names that `names` gives, changing nothing else (a
    /// concurrent password change is never undone); `None` when there is no
    /// such user.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn update_names(
        &self,
        id: &UserId,
        names: &NameChange,
    ) -> Result<Option<User>, Failure> {
        let at = truncate_to_seconds(self.clock.now());
        Ok(self.users.update_names(id, names, at).await?)
    }

    /// Sets a user's password (an operator's reset: no current password
    /// needed), under the same rules as a new user's, and ends every
    /// session of the user; the user and how many sessions ended.
    ///
    /// # Errors
    /// [`SetPasswordError`] saying what was wrong.
    pub async fn set_password(
        &self,
        id: &UserId,
        password: &Password,
    ) -> Result<(User, u64), SetPasswordError> {
        let user = self
            .users
            .get(id)
            .await?
            .ok_or(SetPasswordError::NoSuchUser)?;
        self.passwords
            .check_new(password, self.strength.as_deref(), &user.own_words())?;
        let new_hash = self.hasher.hash(password).await.map_err(Failure::from)?;
        let at = truncate_to_seconds(self.clock.now());
        if !self
            .users
            .replace_password_hash(id, &user.password_hash, &new_hash, Some(at))
            .await?
        {
            return Err(SetPasswordError::Conflict);
        }
        let ended = self.sessions.delete_by_user(id, None).await?;
        let user = User {
            password_hash: new_hash,
            updated_at: at,
            ..user
        };
        Ok((user, ended))
    }

    /// Deletes a user and every session they hold; `false` when there is
    /// no such user.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn delete(&self, id: &UserId) -> Result<bool, Failure> {
        let deleted = self.users.delete(id).await?;
        if deleted {
            // The user storage removed its own sessions; sessions kept in
            // process memory (session_auth, session_exp_auth) go too.
            self.sessions.delete_by_user(id, None).await?;
        }
        Ok(deleted)
    }
}
