//! The use cases: logging in and out, resolving the current user, and
//! managing users.

use std::sync::Arc;

use crate::BoxError;
use crate::password::Password;
use crate::ports::{
    Clock, HashError, PasswordHasher, RepositoryError, SessionRepository, TokenGenerator,
    UserRepository,
};
use crate::session::{Session, SessionId, SessionLifetime, SessionToken};
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

/// Why a login failed.
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
    /// Infrastructure failure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Sessions and credentials: everything the policies and the login and
/// logout routes need.
pub struct AuthService {
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    tokens: Arc<dyn TokenGenerator>,
    lifetime: SessionLifetime,
}

impl AuthService {
    /// Wires the use case to its ports. `sessions` is the store the active
    /// policy uses; `lifetime` is how long its sessions last.
    pub fn new(
        users: Arc<dyn UserRepository>,
        sessions: Arc<dyn SessionRepository>,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
        tokens: Arc<dyn TokenGenerator>,
        lifetime: SessionLifetime,
    ) -> Self {
        Self {
            users,
            sessions,
            hasher,
            clock,
            tokens,
            lifetime,
        }
    }

    /// How long new sessions last.
    pub fn lifetime(&self) -> SessionLifetime {
        self.lifetime
    }

    /// Checks an email and password; on success a legacy SHA-256 hash is
    /// replaced by Argon2id.
    ///
    /// # Errors
    /// [`LoginError`] saying what was wrong.
    pub async fn authenticate(
        &self,
        email: Option<&str>,
        password: Option<&str>,
    ) -> Result<User, LoginError> {
        let email = email
            .and_then(Email::parse)
            .ok_or(LoginError::EmailMissing)?;
        let password = password
            .and_then(Password::parse)
            .ok_or(LoginError::PasswordMissing)?;
        let user = self
            .users
            .find_by_email(&email)
            .await
            .map_err(Failure::from)?;
        let user = user.ok_or(LoginError::UnknownEmail)?;
        if !self
            .hasher
            .verify(&password, &user.password_hash)
            .await
            .map_err(Failure::from)?
        {
            return Err(LoginError::WrongPassword);
        }
        Ok(self.upgrade_legacy_hash(user, &password).await)
    }

    /// The user these credentials name, `None` when they name no one or the
    /// password is wrong (the Basic policy's question).
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn verify_credentials(
        &self,
        email: &Email,
        password: &Password,
    ) -> Result<Option<User>, Failure> {
        match self
            .authenticate(Some(email.as_str()), Some(password.expose()))
            .await
        {
            Ok(user) => Ok(Some(user)),
            Err(LoginError::Failure(failure)) => Err(failure),
            Err(_) => Ok(None),
        }
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
    /// returned to be sent to the client; only its digest is stored.
    ///
    /// # Errors
    /// [`LoginError`] saying what was wrong.
    pub async fn login(
        &self,
        email: Option<&str>,
        password: Option<&str>,
    ) -> Result<(User, SessionToken), LoginError> {
        let user = self.authenticate(email, password).await?;
        let token = self.tokens.generate();
        let now = truncate_to_seconds(self.clock.now());
        let session = Session {
            id: SessionId::generate(),
            key: token.key(),
            user_id: user.id,
            created_at: now,
            updated_at: now,
        };
        self.sessions
            .insert(&session)
            .await
            .map_err(Failure::from)?;
        Ok((user, token))
    }

    /// The user of a live session; `None` for an unknown or expired token,
    /// or a session whose user is gone.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn user_for_token(&self, token: &SessionToken) -> Result<Option<User>, Failure> {
        let found = self
            .sessions
            .find_with_user(&token.key(), self.users.as_ref())
            .await?;
        Ok(found.and_then(|(session, user)| self.is_live(&session).then_some(user).flatten()))
    }

    fn is_live(&self, session: &Session) -> bool {
        self.lifetime
            .is_valid_at(session.created_at, self.clock.now())
    }

    async fn live_session(&self, token: &SessionToken) -> Result<Option<Session>, Failure> {
        let session = self.sessions.find(&token.key()).await?;
        Ok(session.filter(|s| self.is_live(s)))
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

    /// Removes sessions that can no longer resolve; how many.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn prune_expired(&self) -> Result<u64, Failure> {
        match self.lifetime {
            SessionLifetime::Unlimited => Ok(0),
            SessionLifetime::Limited(d) => Ok(self
                .sessions
                .delete_created_before(self.clock.now() - d)
                .await?),
        }
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
}

impl UserService {
    /// Wires the use case. `sessions` is the active policy's session store,
    /// so deleting a user also ends sessions kept outside the user storage.
    pub fn new(
        users: Arc<dyn UserRepository>,
        sessions: Arc<dyn SessionRepository>,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            users,
            sessions,
            hasher,
            clock,
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

    /// Creates a user keeping what an import brings: its id, timestamps and
    /// password hash as stored.
    ///
    /// # Errors
    /// [`CreateUserError::DuplicateEmail`] when the email is taken.
    pub async fn restore(&self, user: &User) -> Result<(), CreateUserError> {
        Ok(self.users.insert(user).await?)
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
            self.sessions.delete_by_user(&id).await?;
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests;
