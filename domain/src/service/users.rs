//! User management: listing, creating, renaming and deleting users, and
//! the administrator right.
//!
//! The methods taking a [`Caller`] are the API's: they apply the
//! [`AccessRules`] (who may see, create, change and delete which user) and
//! refuse with a domain error. The others are the operator's (the CLI, the
//! bootstrap user, the metrics), who may do everything.

use std::sync::Arc;

use crate::access::{AccessRules, Creation};
use crate::attempt::{AccountKey, UNKNOWN_ADDRESS};
use crate::error::{
    AccessError, CreateUserError, DeleteUserError, Failure, SetAdminError, SetPasswordError,
    UpdateUserError,
};
use crate::gate::Caller;
use crate::password::{Password, PasswordRules};
use crate::ports::{Clock, PasswordHasher, PasswordStrength, SessionRepository, UserRepository};
use crate::service::AuthPorts;
use crate::throttle::{Throttle, ThrottleRules};
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
    /// Whether the new user is an administrator; [`NewUser::parse`] makes
    /// none.
    pub is_admin: bool,
}

impl NewUser {
    /// The same user, made an administrator (`user create --admin`, the
    /// bootstrap user).
    #[must_use]
    pub fn administrator(self) -> Self {
        Self {
            is_admin: true,
            ..self
        }
    }

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
            is_admin: false,
        })
    }
}

/// A change of a user as `PUT /users/<id>` asks for it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserChange {
    /// The names to set.
    pub names: NameChange,
    /// The administrator flag asked for. Only `ACCESS_POLICY=owner` reads
    /// it (the Flask API applied the names only and ignored every other
    /// field, whatever its value), and only an administrator may change
    /// the stored flag.
    pub is_admin: AdminFlagRequest,
}

/// The administrator flag a change asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AdminFlagRequest {
    /// Absent or null: the flag stays.
    #[default]
    Absent,
    /// This value.
    Set(bool),
    /// Something that is no boolean.
    Malformed,
}

/// The rules the user use cases apply.
#[derive(Clone, Copy, Debug, Default)]
pub struct UserRules {
    /// Length limits on new passwords.
    pub passwords: PasswordRules,
    /// The limits of logins, applied per client address to registrations.
    pub throttle: ThrottleRules,
    /// Who may do what to which user.
    pub access: AccessRules,
}

/// User management.
pub struct UserService {
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    passwords: PasswordRules,
    strength: Option<Arc<dyn PasswordStrength>>,
    access: AccessRules,
    /// Registrations, counted in the failed-login log under keys of their
    /// own (see [`UserService::create_for`]).
    registrations: Throttle,
}

impl UserService {
    /// Wires the use case. `sessions` is the active policy's session store,
    /// so deleting a user also ends sessions kept outside the user storage.
    pub fn new(ports: &AuthPorts, rules: UserRules) -> Self {
        Self {
            users: ports.users.clone(),
            sessions: ports.sessions.clone(),
            hasher: ports.hasher.clone(),
            clock: ports.clock.clone(),
            passwords: rules.passwords,
            strength: ports.strength.clone(),
            access: rules.access,
            registrations: Throttle::new(ports.attempts.clone(), rules.throttle),
        }
    }

    /// Who may do what to which user.
    pub fn access(&self) -> AccessRules {
        self.access
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
            is_admin,
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
            is_admin,
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

/// The use cases of the API, deciding from the caller.
impl UserService {
    /// The users `caller` may see: every user, or under
    /// `ACCESS_POLICY=owner` only themselves unless they are an
    /// administrator.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn list_for(&self, caller: &Caller) -> Result<Vec<User>, Failure> {
        if self.access.administers(caller) {
            return self.list().await;
        }
        let Some(own) = &caller.user else {
            return Ok(Vec::new());
        };
        // One look-up rather than a filtered scan of every user.
        Ok(self.users.get(&own.id).await?.into_iter().collect())
    }

    /// How many users there are, for a caller who may act on every user.
    ///
    /// # Errors
    /// [`AccessError::Forbidden`] for a user who is not an administrator
    /// under `ACCESS_POLICY=owner` (the count is about other users).
    pub async fn count_for(&self, caller: &Caller) -> Result<u64, AccessError> {
        if !self.access.administers(caller) {
            return Err(AccessError::Forbidden);
        }
        Ok(self.users.count().await?)
    }

    /// The user with this id, when `caller` may see them; `None` also for
    /// a user they may not see, so an id is never confirmed to them.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn get_for(&self, caller: &Caller, id: &UserId) -> Result<Option<User>, Failure> {
        if !self.access.sees(caller, id) {
            return Ok(None);
        }
        self.get(id).await
    }

    /// Creates a user for `caller`: as the Flask API did for anyone past
    /// the gate (under `owner`, for an administrator), or as a
    /// registration by an anonymous caller under `REGISTRATION=open`,
    /// which never makes an administrator and is limited per client
    /// address as failed logins are (`THROTTLE_ADDRESS_FAILURES` per
    /// `THROTTLE_BACKOFF`, `THROTTLE_ACCOUNT_FAILURES` per
    /// `THROTTLE_ACCOUNT_WINDOW`).
    ///
    /// # Errors
    /// [`CreateUserError::Forbidden`] when the caller may not create users,
    /// [`CreateUserError::TooManyAttempts`] past the registration limit,
    /// else what [`UserService::create`] refuses.
    pub async fn create_for(&self, caller: &Caller, new: NewUser) -> Result<User, CreateUserError> {
        match self.access.creation(caller) {
            Creation::Allowed => self.create(new).await,
            Creation::Forbidden => Err(CreateUserError::Forbidden),
            Creation::Registration => {
                // Every registration counts, taken or refused (a refused
                // one still tells whether an email exists), in the
                // failed-login log under keys of its own: the address is
                // prefixed, so registrations and failed logins never count
                // against each other's limits; the "account" is the
                // address too, so one client's registrations are also held
                // to the account limit.
                let address = format!(
                    "registration {}",
                    caller.client.address.as_deref().unwrap_or(UNKNOWN_ADDRESS)
                );
                let account = AccountKey::of(&address);
                let now = self.clock.now();
                if let Some(wait) = self
                    .registrations
                    .wait_before(&account, &address, now)
                    .await?
                {
                    return Err(CreateUserError::TooManyAttempts(wait));
                }
                self.registrations
                    .record_failure(account, &address, now)
                    .await?;
                self.create(NewUser {
                    is_admin: false,
                    ..new
                })
                .await
            }
        }
    }

    /// Changes the user with this id for `caller`: the names, and under
    /// `ACCESS_POLICY=owner` the administrator flag when it is given and
    /// differs from the stored one. The user as stored afterwards.
    ///
    /// # Errors
    /// [`UpdateUserError::NotFound`] for a user the caller may not see (or
    /// none), [`UpdateUserError::Forbidden`] when a caller who is not an
    /// administrator would change the flag, [`UpdateUserError::LastAdmin`]
    /// when it would leave no administrator; nothing changes then.
    pub async fn update_for(
        &self,
        caller: &Caller,
        id: &UserId,
        change: &UserChange,
    ) -> Result<User, UpdateUserError> {
        if !self.access.sees(caller, id) {
            return Err(UpdateUserError::NotFound);
        }
        let requested = match change.is_admin {
            _ if !self.access.shows_admin_flag() => None,
            AdminFlagRequest::Absent => None,
            AdminFlagRequest::Set(is_admin) => Some(is_admin),
            AdminFlagRequest::Malformed => {
                // Told apart from an unknown id, as a malformed body is.
                self.get(id).await?.ok_or(UpdateUserError::NotFound)?;
                return Err(UpdateUserError::WrongFormat);
            }
        };
        if let Some(is_admin) = requested {
            let current = self.get(id).await?.ok_or(UpdateUserError::NotFound)?;
            if current.is_admin != is_admin {
                if !self.access.administers(caller) {
                    return Err(UpdateUserError::Forbidden);
                }
                // First, so that a refusal (the last administrator)
                // leaves the names as they were too.
                self.users
                    .set_admin(id, is_admin, self.now())
                    .await?
                    .ok_or(UpdateUserError::NotFound)?;
            }
        }
        self.update_names(id, &change.names)
            .await?
            .ok_or(UpdateUserError::NotFound)
    }

    /// Deletes the user with this id and their sessions, for `caller`.
    /// Under `ACCESS_POLICY=owner` the last administrator is kept (so the
    /// API always has someone to administer it); under `open`, as the
    /// Flask API, anyone may be deleted.
    ///
    /// # Errors
    /// [`DeleteUserError::NotFound`] for a user the caller may not see (or
    /// none), [`DeleteUserError::LastAdmin`] for the last administrator.
    pub async fn delete_for(&self, caller: &Caller, id: &UserId) -> Result<(), DeleteUserError> {
        if !self.access.sees(caller, id) {
            return Err(DeleteUserError::NotFound);
        }
        let revoked = if self.access.shows_admin_flag() {
            let target = self.get(id).await?.ok_or(DeleteUserError::NotFound)?;
            // The storage refuses to take the last administrator's right
            // atomically; taking it first makes two administrators deleting
            // each other at once unable to leave none.
            if target.is_admin {
                self.users.set_admin(id, false, self.now()).await?;
            }
            target.is_admin
        } else {
            false
        };
        match self.delete(id).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(DeleteUserError::NotFound),
            Err(failure) => {
                if revoked && let Err(error) = self.users.set_admin(id, true, self.now()).await {
                    tracing::warn!(user_id = %id, error = %error, "could not give the administrator right back after a failed deletion");
                }
                Err(failure.into())
            }
        }
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        truncate_to_seconds(self.clock.now())
    }
}

/// The administrator right, for operators.
impl UserService {
    /// Grants (`true`) or revokes (`false`) the administrator right; the
    /// user as stored afterwards.
    ///
    /// # Errors
    /// [`SetAdminError::NoSuchUser`], or [`SetAdminError::LastAdmin`] when
    /// revoking the only administrator's right.
    pub async fn set_admin(&self, id: &UserId, is_admin: bool) -> Result<User, SetAdminError> {
        self.users
            .set_admin(id, is_admin, self.now())
            .await?
            .ok_or(SetAdminError::NoSuchUser)
    }

    /// Whether any user is an administrator.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn has_admin(&self) -> Result<bool, Failure> {
        Ok(self.users.list().await?.iter().any(|user| user.is_admin))
    }
}
