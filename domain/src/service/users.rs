//! User management: listing, finding, creating (and registering),
//! renaming and deleting users, each for an [`Actor`] under the
//! [`AccessRules`] (who may see, create, change and delete which user).

use std::sync::Arc;

use async_trait::async_trait;

use crate::access::{AccessRules, Creation};
use crate::actor::Actor;
use crate::attempt::{AccountKey, UNKNOWN_ADDRESS};
use crate::audit::{AuditEvent, AuditLog};
use crate::error::{AccessError, CreateUserError, DeleteUserError, Failure, UpdateUserError};
use crate::inbound::UserManagement;
use crate::input::{AdminFlagRequest, NewUser, UserChange};
use crate::password::PasswordRules;
use crate::ports::{Clock, PasswordHasher, PasswordStrength, SessionRepository, UserRepository};
use crate::service::context::{Ports, Rules};
use crate::throttle::Throttle;
use crate::truncate_to_seconds;
use crate::user::{Email, User, UserId, own_words};

/// User management.
pub struct UserService {
    pub(crate) users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    passwords: PasswordRules,
    strength: Option<Arc<dyn PasswordStrength>>,
    pub(crate) access: AccessRules,
    pub(crate) audit: Arc<dyn AuditLog>,
    /// Registrations, counted in the failed-login log under keys of their
    /// own (see [`UserService::register`]).
    registrations: Throttle,
}

impl UserService {
    pub(crate) fn new(ports: &Ports, rules: &Rules) -> Self {
        Self {
            users: ports.users.clone(),
            sessions: ports.sessions.clone(),
            hasher: ports.hasher.clone(),
            clock: ports.clock.clone(),
            passwords: rules.passwords,
            strength: ports.strength.clone(),
            access: rules.access,
            audit: ports.audit.clone(),
            registrations: Throttle::new(ports.attempts.clone(), rules.throttle),
        }
    }

    /// Refuses `actor` an action reserved to administrators, audited.
    pub(crate) fn refuse<E>(&self, actor: &Actor, action: &'static str, error: E) -> E {
        self.audit
            .record(actor, AuditEvent::AdminRefused { action });
        error
    }

    /// Creates a user with an Argon2id hash of the password, under the
    /// password rules (length, and strength when configured).
    async fn create(&self, new: NewUser) -> Result<User, CreateUserError> {
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
        let now = self.now();
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

    /// A self-registration by an anonymous `actor` under
    /// `REGISTRATION=open`: never an administrator, and limited per client
    /// address as failed logins are (`THROTTLE_ADDRESS_FAILURES` per
    /// `THROTTLE_BACKOFF`, `THROTTLE_ACCOUNT_FAILURES` per
    /// `THROTTLE_ACCOUNT_WINDOW`).
    async fn register(&self, actor: &Actor, new: NewUser) -> Result<User, CreateUserError> {
        // Every registration counts, taken or refused (a refused one still
        // tells whether an email exists), in the failed-login log under
        // keys of its own: the address is prefixed, so registrations and
        // failed logins never count against each other's limits; the
        // "account" is the address too, so one client's registrations are
        // also held to the account limit.
        let address = format!(
            "registration {}",
            actor.address().unwrap_or(UNKNOWN_ADDRESS)
        );
        let account = AccountKey::of(&address);
        let now = self.clock.now();
        if let Some(wait) = self
            .registrations
            .wait_before(&account, &address, now)
            .await?
        {
            self.audit.record(actor, AuditEvent::RegistrationThrottled);
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

    /// Deletes a user and every session they hold; `false` when there is
    /// no such user.
    async fn delete(&self, id: &UserId) -> Result<bool, Failure> {
        let deleted = self.users.delete(id).await?;
        if deleted {
            // The user storage removed its own sessions; sessions kept in
            // process memory (session_auth, session_exp_auth) go too.
            self.sessions.delete_by_user(id, None).await?;
        }
        Ok(deleted)
    }

    /// Deletes for an API caller under `ACCESS_POLICY=owner`: the last
    /// administrator is kept (so the API always has someone to administer
    /// it).
    async fn delete_keeping_an_admin(&self, id: &UserId) -> Result<(), DeleteUserError> {
        let target = self.users.get(id).await?.ok_or(DeleteUserError::NotFound)?;
        // The storage refuses to take the last administrator's right
        // atomically; taking it first makes two administrators deleting
        // each other at once unable to leave none.
        if target.is_admin {
            self.users.set_admin(id, false, self.now()).await?;
        }
        match self.delete(id).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(DeleteUserError::NotFound),
            Err(failure) => {
                if target.is_admin
                    && let Err(error) = self.users.set_admin(id, true, self.now()).await
                {
                    tracing::warn!(user_id = %id, error = %error, "could not give the administrator right back after a failed deletion");
                }
                Err(failure.into())
            }
        }
    }

    /// Applies the administrator flag a change asks for, before the names
    /// (so that a refusal leaves them as they were too).
    async fn apply_admin_flag(
        &self,
        actor: &Actor,
        id: &UserId,
        requested: AdminFlagRequest,
    ) -> Result<(), UpdateUserError> {
        let requested = match requested {
            _ if !self.access.shows_admin_flag() => return Ok(()),
            AdminFlagRequest::Absent => return Ok(()),
            AdminFlagRequest::Set(is_admin) => is_admin,
            AdminFlagRequest::Malformed => {
                // Told apart from an unknown id, as a malformed body is.
                self.users.get(id).await?.ok_or(UpdateUserError::NotFound)?;
                return Err(UpdateUserError::WrongFormat);
            }
        };
        let current = self.users.get(id).await?.ok_or(UpdateUserError::NotFound)?;
        if current.is_admin == requested {
            return Ok(());
        }
        if !self.access.administers(actor) {
            return Err(self.refuse(actor, "set_admin_flag", UpdateUserError::Forbidden));
        }
        self.users
            .set_admin(id, requested, self.now())
            .await?
            .ok_or(UpdateUserError::NotFound)?;
        self.audit.record(actor, admin_event(*id, requested));
        Ok(())
    }

    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        truncate_to_seconds(self.clock.now())
    }
}

/// The event of a user's administrator right granted (`true`) or taken.
pub(crate) fn admin_event(user: UserId, is_admin: bool) -> AuditEvent {
    if is_admin {
        AuditEvent::UserPromoted { user }
    } else {
        AuditEvent::UserDemoted { user }
    }
}

#[async_trait]
impl UserManagement for UserService {
    async fn list_users(&self, actor: &Actor) -> Result<Vec<User>, Failure> {
        if self.access.administers(actor) {
            return Ok(self.users.list().await?);
        }
        let Some(own) = actor.user() else {
            return Ok(Vec::new());
        };
        // One look-up rather than a filtered scan of every user.
        Ok(self.users.get(&own.id).await?.into_iter().collect())
    }

    async fn count_users(&self, actor: &Actor) -> Result<u64, AccessError> {
        // The count is about other users.
        if !self.access.administers(actor) {
            return Err(self.refuse(actor, "count_users", AccessError::Forbidden));
        }
        Ok(self.users.count().await?)
    }

    async fn user(&self, actor: &Actor, id: &UserId) -> Result<Option<User>, Failure> {
        // A user the actor may not see is unknown to them: an id is never
        // confirmed.
        if !self.access.sees(actor, id) {
            return Ok(None);
        }
        Ok(self.users.get(id).await?)
    }

    async fn find_user(&self, actor: &Actor, key: &str) -> Result<Option<User>, Failure> {
        let found = if let Some(id) = UserId::parse(key) {
            self.users.get(&id).await?
        } else {
            match Email::parse(key) {
                Some(email) => self.users.find_by_email(&email).await?,
                None => None,
            }
        };
        Ok(found.filter(|user| self.access.sees(actor, &user.id)))
    }

    async fn create_user(&self, actor: &Actor, new: NewUser) -> Result<User, CreateUserError> {
        let user = match self.access.creation(actor) {
            Creation::Allowed => self.create(new).await?,
            Creation::Registration => self.register(actor, new).await?,
            Creation::Forbidden => {
                return Err(self.refuse(actor, "create_user", CreateUserError::Forbidden));
            }
        };
        self.audit.record(
            actor,
            AuditEvent::UserCreated {
                user: user.id,
                is_admin: user.is_admin,
            },
        );
        Ok(user)
    }

    async fn update_user(
        &self,
        actor: &Actor,
        id: &UserId,
        change: &UserChange,
    ) -> Result<User, UpdateUserError> {
        if !self.access.sees(actor, id) {
            return Err(UpdateUserError::NotFound);
        }
        self.apply_admin_flag(actor, id, change.is_admin).await?;
        self.users
            .update_names(id, &change.names, self.now())
            .await?
            .ok_or(UpdateUserError::NotFound)
    }

    async fn delete_user(&self, actor: &Actor, id: &UserId) -> Result<(), DeleteUserError> {
        if !self.access.sees(actor, id) {
            return Err(DeleteUserError::NotFound);
        }
        // An operator may delete anyone; under ACCESS_POLICY=owner an API
        // caller may not delete the last administrator; under open, as the
        // Flask API, anyone may be deleted.
        if self.access.shows_admin_flag() && !actor.is_operator() {
            self.delete_keeping_an_admin(id).await?;
        } else if !self.delete(id).await? {
            return Err(DeleteUserError::NotFound);
        }
        self.audit
            .record(actor, AuditEvent::UserDeleted { user: *id });
        Ok(())
    }

    fn access(&self) -> AccessRules {
        self.access
    }
}
