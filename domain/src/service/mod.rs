//! The use cases: logging in and out, resolving the current user, and
//! managing users.

use chrono::Duration;
use std::sync::{Arc, OnceLock};

use crate::BoxError;
use crate::password::{Password, PasswordHash, PasswordRuleError, PasswordRules};
use crate::ports::{
    AttemptLog, Clock, HashError, PasswordHasher, RepositoryError, SessionRepository,
    TokenGenerator, UserRepository,
};
use crate::session::{ClientInfo, Session, SessionId, SessionLifetime, SessionRules, SessionToken};
use crate::throttle::{AccountKey, Throttle, ThrottleRules, UNKNOWN_ADDRESS};
use crate::truncate_to_seconds;
use crate::user::{Email, User, UserId};

/// An infrastructure failure under a use case: never the client's fault.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Storage cannot be reached right now (503).
    #[error("storage unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else (500); the source is logged, never sent.
    #[error("unexpected failure")]
    Unexpected(#[source] BoxError),
}

impl From<RepositoryError> for Failure {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::Unavailable(source) => Self::Unavailable(source),
            RepositoryError::Unexpected(source) => Self::Unexpected(source),
            duplicate @ RepositoryError::DuplicateEmail => Self::Unexpected(Box::new(duplicate)),
        }
    }
}

impl From<HashError> for Failure {
    fn from(error: HashError) -> Self {
        Self::Unexpected(Box::new(error))
    }
}

/// Why a login (or any password check) failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// No email, or an empty one.
    #[error("email missing")]
    EmailMissing,
    /// No password, or an empty one.
    #[error("password missing")]
    PasswordMissing,
    /// No user has this email.
    #[error("no user found for this email")]
    UnknownEmail,
    /// The password does not match.
    #[error("wrong password")]
    WrongPassword,
    /// Too many failed checks: try again after this long.
    #[error("too many attempts")]
    TooManyAttempts(Duration),
    /// Infrastructure failure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Why changing a password failed.
#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    /// No current password given.
    #[error("current_password missing")]
    CurrentMissing,
    /// No new password given.
    #[error("new_password missing")]
    NewMissing,
    /// The new password breaks the length rules.
    #[error("new_password: {0}")]
    Rule(#[from] PasswordRuleError),
    /// The current password does not match.
    #[error("wrong password")]
    WrongPassword,
    /// Too many failed checks: try again after this long.
    #[error("too many attempts")]
    TooManyAttempts(Duration),
    /// Infrastructure failure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// The ports the authentication use cases need.
#[derive(Clone)]
pub struct AuthPorts {
    /// Users.
    pub users: Arc<dyn UserRepository>,
    /// The active policy's session store.
    pub sessions: Arc<dyn SessionRepository>,
    /// Failed password checks.
    pub attempts: Arc<dyn AttemptLog>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Session tokens.
    pub tokens: Arc<dyn TokenGenerator>,
}

/// The rules the authentication use cases apply.
#[derive(Clone, Copy, Debug)]
pub struct AuthRules {
    /// Session lifetime and idle timeout.
    pub sessions: SessionRules,
    /// Brute-force limits.
    pub throttle: ThrottleRules,
    /// Length limits on new passwords.
    pub passwords: PasswordRules,
}

/// Sessions and credentials: everything the policies and the login, logout,
/// session and password routes need.
pub struct AuthService {
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    tokens: Arc<dyn TokenGenerator>,
    throttle: Throttle,
    rules: AuthRules,
    /// A real Argon2id hash that no password matches, verified against when
    /// the email is unknown so that an unknown email costs the same time.
    decoy: OnceLock<PasswordHash>,
}

impl AuthService {
    /// Wires the use case to its ports and rules.
    pub fn new(ports: AuthPorts, rules: AuthRules) -> Self {
        Self {
            throttle: Throttle::new(ports.attempts, rules.throttle),
            users: ports.users,
            sessions: ports.sessions,
            hasher: ports.hasher,
            clock: ports.clock,
            tokens: ports.tokens,
            rules,
            decoy: OnceLock::new(),
        }
    }

    /// How long new sessions last.
    pub fn lifetime(&self) -> SessionLifetime {
        self.rules.sessions.lifetime
    }

    /// Checks an email and password under the brute-force limits; on
    /// success a legacy SHA-256 hash is replaced by Argon2id.
    ///
    /// # Errors
    /// [`LoginError`] saying what was wrong.
    pub async fn authenticate(
        &self,
        email: Option<&str>,
        password: Option<&str>,
        client_address: Option<&str>,
    ) -> Result<User, LoginError> {
        let email = email
            .and_then(Email::parse)
            .ok_or(LoginError::EmailMissing)?;
        let password = password
            .and_then(Password::parse)
            .ok_or(LoginError::PasswordMissing)?;
        self.check_credentials(&email, &password, client_address)
            .await
    }

    /// [`AuthService::authenticate`] for credentials already parsed (the
    /// Basic header, a user's own email).
    ///
    /// # Errors
    /// [`LoginError`] saying what was wrong (never a missing field).
    pub async fn check_credentials(
        &self,
        email: &Email,
        password: &Password,
        client_address: Option<&str>,
    ) -> Result<User, LoginError> {
        let account = AccountKey::of(email.as_str());
        let address = client_address.unwrap_or(UNKNOWN_ADDRESS);
        if let Some(wait) = self
            .throttle
            .wait_before(&account, address, self.clock.now())
            .await?
        {
            return Err(LoginError::TooManyAttempts(wait));
        }
        let user = self
            .users
            .find_by_email(email)
            .await
            .map_err(Failure::from)?;
        let Some(user) = user else {
            self.verify_decoy(password).await?;
            self.throttle
                .record_failure(account, address, self.clock.now())
                .await?;
            return Err(LoginError::UnknownEmail);
        };
        if !self
            .hasher
            .verify(password, &user.password_hash)
            .await
            .map_err(Failure::from)?
        {
            self.throttle
                .record_failure(account, address, self.clock.now())
                .await?;
            return Err(LoginError::WrongPassword);
        }
        Ok(self.upgrade_legacy_hash(user, password).await)
    }

    async fn verify_decoy(&self, password: &Password) -> Result<(), Failure> {
        if self.decoy.get().is_none() {
            let random = Password::parse(self.tokens.generate().expose())
                .unwrap_or_else(|| password.clone());
            // Two first misses racing both hash; one result is kept.
            let _ = self.decoy.set(self.hasher.hash(&random).await?);
        }
        if let Some(decoy) = self.decoy.get() {
            self.hasher.verify(password, decoy).await?;
        }
        Ok(())
    }

    async fn upgrade_legacy_hash(&self, user: User, password: &Password) -> User {
        if !user.password_hash.needs_upgrade() {
            return user;
        }
        let upgraded = match self.hasher.hash(password).await {
            Ok(hash) => User {
                password_hash: hash,
                ..user.clone()
            },
            Err(error) => {
                tracing::warn!(user_id = %user.id, error = %error, "could not upgrade a legacy password hash; will retry at next login");
                return user;
            }
        };
        match self.users.update(&upgraded).await {
            Ok(_) => {
                tracing::info!(user_id = %user.id, "upgraded a legacy SHA-256 password hash to Argon2id");
                upgraded
            }
            Err(error) => {
                tracing::warn!(user_id = %user.id, error = %error, "could not store an upgraded password hash; will retry at next login");
                user
            }
        }
    }

    /// Logs in: checks the credentials and opens a new session. The token is
    /// always new (never one the client sent) and returned to be sent to
    /// the client; only its digest is stored.
    ///
    /// # Errors
    /// [`LoginError`] saying what was wrong.
    pub async fn login(
        &self,
        email: Option<&str>,
        password: Option<&str>,
        client: &ClientInfo,
    ) -> Result<(User, SessionToken), LoginError> {
        let user = self
            .authenticate(email, password, client.address.as_deref())
            .await?;
        let token = self.open_session(&user, client).await?;
        Ok((user, token))
    }

    async fn open_session(
        &self,
        user: &User,
        client: &ClientInfo,
    ) -> Result<SessionToken, Failure> {
        let token = self.tokens.generate();
        let now = truncate_to_seconds(self.clock.now());
        let session = Session {
            id: SessionId::generate(),
            key: token.key(),
            user_id: user.id,
            created_at: now,
            updated_at: now,
            last_used_at: now,
            client_address: client.address.clone(),
            user_agent: client.user_agent_for_storage(),
        };
        self.sessions.insert(&session).await?;
        Ok(token)
    }

    /// The user of a live session; `None` for an unknown, expired or idle
    /// token, or a session whose user is gone. Records activity at most
    /// once per [`SessionRules::touch_interval`].
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn user_for_token(&self, token: &SessionToken) -> Result<Option<User>, Failure> {
        let found = self
            .sessions
            .find_with_user(&token.key(), self.users.as_ref())
            .await?;
        let Some((session, user)) = found else {
            return Ok(None);
        };
        let now = self.clock.now();
        if !self.rules.sessions.is_live(&session, now) {
            return Ok(None);
        }
        if user.is_some() && self.rules.sessions.needs_touch(&session, now) {
            self.sessions
                .touch(&session.key, truncate_to_seconds(now))
                .await?;
        }
        Ok(user)
    }

    async fn live_session(&self, token: &SessionToken) -> Result<Option<Session>, Failure> {
        let session = self.sessions.find(&token.key()).await?;
        Ok(session.filter(|s| self.rules.sessions.is_live(s, self.clock.now())))
    }

    /// Ends the session of `token`; `false` when there is no live session
    /// to end.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn logout(&self, token: &SessionToken) -> Result<bool, Failure> {
        match self.live_session(token).await? {
            Some(session) => Ok(self.sessions.delete(&session.key).await?),
            None => Ok(false),
        }
    }

    /// The live sessions of `user`, oldest first.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn sessions_of(&self, user: &UserId) -> Result<Vec<Session>, Failure> {
        let now = self.clock.now();
        let mut sessions = self.sessions.list_by_user(user).await?;
        sessions.retain(|s| self.rules.sessions.is_live(s, now));
        Ok(sessions)
    }

    /// Ends every session of `user` but the one of `keep` (when given); how
    /// many ended.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn end_sessions(
        &self,
        user: &UserId,
        keep: Option<&SessionToken>,
    ) -> Result<u64, Failure> {
        let keep = keep.map(SessionToken::key);
        Ok(self.sessions.delete_by_user(user, keep.as_ref()).await?)
    }

    /// Ends the session of `user` whose handle is `handle` and returns it;
    /// `None` when `user` has no such session (another user's handle ends
    /// nothing).
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn end_session(
        &self,
        user: &UserId,
        handle: &str,
    ) -> Result<Option<Session>, Failure> {
        let Some(handle) = SessionId::parse(handle) else {
            return Ok(None);
        };
        let sessions = self.sessions.list_by_user(user).await?;
        let Some(session) = sessions.into_iter().find(|s| s.id == handle) else {
            return Ok(None);
        };
        Ok(self.sessions.delete(&session.key).await?.then_some(session))
    }

    /// Changes `user`'s password after checking the current one (under the
    /// brute-force limits), and ends every other session of theirs: all
    /// but `keep`.
    ///
    /// # Errors
    /// [`ChangePasswordError`] saying what was wrong; nothing changes then.
    pub async fn change_password(
        &self,
        user: &User,
        current: Option<&str>,
        new: Option<&str>,
        keep: Option<&SessionToken>,
        client_address: Option<&str>,
    ) -> Result<User, ChangePasswordError> {
        let current = current
            .and_then(Password::parse)
            .ok_or(ChangePasswordError::CurrentMissing)?;
        let new = new
            .and_then(Password::parse)
            .ok_or(ChangePasswordError::NewMissing)?;
        self.rules.passwords.check(&new)?;
        let verified = match self
            .check_credentials(&user.email, &current, client_address)
            .await
        {
            Ok(verified) if verified.id == user.id => verified,
            Ok(_) | Err(LoginError::UnknownEmail | LoginError::WrongPassword) => {
                return Err(ChangePasswordError::WrongPassword);
            }
            Err(LoginError::TooManyAttempts(wait)) => {
                return Err(ChangePasswordError::TooManyAttempts(wait));
            }
            Err(LoginError::Failure(failure)) => return Err(failure.into()),
            Err(LoginError::EmailMissing | LoginError::PasswordMissing) => {
                return Err(ChangePasswordError::CurrentMissing);
            }
        };
        let changed = User {
            password_hash: self.hasher.hash(&new).await.map_err(Failure::from)?,
            updated_at: truncate_to_seconds(self.clock.now()),
            ..verified
        };
        if !self.users.update(&changed).await.map_err(Failure::from)? {
            return Err(ChangePasswordError::WrongPassword);
        }
        self.end_sessions(&changed.id, keep).await?;
        Ok(changed)
    }

    /// Removes sessions that can no longer resolve and failures too old to
    /// count; how many sessions.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn prune_expired(&self) -> Result<u64, Failure> {
        let now = self.clock.now();
        self.throttle.prune(now).await?;
        let (created_before, last_used_before) = self.rules.sessions.expiry_cutoffs(now);
        if created_before.is_none() && last_used_before.is_none() {
            return Ok(0);
        }
        Ok(self
            .sessions
            .delete_expired(created_before, last_used_before)
            .await?)
    }
}

/// Why creating a user failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// No email, or an empty one.
    #[error("email missing")]
    EmailMissing,
    /// No password, or an empty one.
    #[error("password missing")]
    PasswordMissing,
    /// Another user has this email.
    #[error("email already exists")]
    DuplicateEmail,
    /// The password breaks the length rules.
    #[error(transparent)]
    Rule(#[from] PasswordRuleError),
    /// Infrastructure failure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<RepositoryError> for CreateUserError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::DuplicateEmail => Self::DuplicateEmail,
            other => Self::Failure(other.into()),
        }
    }
}

/// The fields of a new user as a client sent them.
#[derive(Debug, Default, Clone)]
pub struct NewUser {
    /// Required, non-empty.
    pub email: Option<String>,
    /// Required, non-empty; hashed before it is stored.
    pub password: Option<Password>,
    /// Optional.
    pub first_name: Option<String>,
    /// Optional.
    pub last_name: Option<String>,
}

/// User management.
pub struct UserService {
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    passwords: PasswordRules,
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

    /// The user with this id; `None` when the text is no id or names no one.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn get(&self, id: &str) -> Result<Option<User>, Failure> {
        match UserId::parse(id) {
            Some(id) => Ok(self.users.get(&id).await?),
            None => Ok(None),
        }
    }

    /// Creates a user with an Argon2id hash of the password.
    ///
    /// # Errors
    /// [`CreateUserError`] saying what was wrong.
    pub async fn create(&self, new: NewUser) -> Result<User, CreateUserError> {
        let email = new
            .email
            .and_then(Email::parse)
            .ok_or(CreateUserError::EmailMissing)?;
        let password = new.password.ok_or(CreateUserError::PasswordMissing)?;
        self.passwords.check(&password)?;
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
            first_name: new.first_name,
            last_name: new.last_name,
            created_at: now,
            updated_at: now,
        };
        self.users.insert(&user).await?;
        Ok(user)
    }

    /// Sets the names that are given (`None` leaves a name as it is);
    /// `None` when there is no such user.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn update_names(
        &self,
        id: &str,
        first_name: Option<String>,
        last_name: Option<String>,
    ) -> Result<Option<User>, Failure> {
        let Some(mut user) = self.get(id).await? else {
            return Ok(None);
        };
        if first_name.is_some() {
            user.first_name = first_name;
        }
        if last_name.is_some() {
            user.last_name = last_name;
        }
        user.updated_at = truncate_to_seconds(self.clock.now());
        Ok(self.users.update(&user).await?.then_some(user))
    }

    /// Deletes a user and every session they hold; `false` when there is
    /// no such user.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn delete(&self, id: &str) -> Result<bool, Failure> {
        let Some(id) = UserId::parse(id) else {
            return Ok(false);
        };
        let deleted = self.users.delete(&id).await?;
        if deleted {
            // The user storage removed its own sessions; sessions kept in
            // process memory (session_auth, session_exp_auth) go too.
            self.sessions.delete_by_user(&id, None).await?;
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests;
