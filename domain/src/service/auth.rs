//! Authentication: password checks, logins and sessions, password changes.

use std::sync::Arc;

use crate::attempt::{AccountKey, UNKNOWN_ADDRESS};
use crate::credentials::EmailAndPassword;
use crate::error::{ChangePasswordError, CredentialFault, Failure, LoginError, RepositoryError};
use crate::password::{Password, PasswordRules};
use crate::ports::{
    AttemptLog, Clock, PasswordHasher, PasswordStrength, SessionRepository, TokenGenerator,
    UserRepository,
};
use crate::session::{
    ClientInfo, Session, SessionId, SessionKey, SessionLifetime, SessionRules, SessionToken,
};
use crate::throttle::{Throttle, ThrottleRules};
use crate::truncate_to_seconds;
use crate::user::{User, UserId};

/// A password change as a client asks for it: the password in use and the
/// one to set.
pub struct PasswordChange {
    /// The password in use now.
    pub current: Password,
    /// The password to set.
    pub new: Password,
}

impl PasswordChange {
    /// The two fields, checked in order: the current password, then the
    /// new one.
    ///
    /// # Errors
    /// [`ChangePasswordError::CurrentMissing`] or
    /// [`ChangePasswordError::NewMissing`] for an absent or empty field.
    pub fn parse(current: Option<&str>, new: Option<&str>) -> Result<Self, ChangePasswordError> {
        let current = current
            .and_then(Password::parse)
            .ok_or(ChangePasswordError::CurrentMissing)?;
        let new = new
            .and_then(Password::parse)
            .ok_or(ChangePasswordError::NewMissing)?;
        Ok(Self { current, new })
    }
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
    /// The strength judgement of new passwords (`PASSWORD_POLICY`);
    /// `None`: the length limits only.
    pub strength: Option<Arc<dyn PasswordStrength>>,
}

/// What a failed login tells the client (`LOGIN_ERRORS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LoginErrors {
    /// The Flask API's answers: an unknown email and a wrong password are
    /// told apart (`404 no user found for this email`, `401 wrong
    /// password`).
    #[default]
    Compatible,
    /// Both are [`LoginError::InvalidCredentials`], one answer, so a
    /// login does not tell which emails have accounts (OWASP ASVS V2/V3).
    /// Both already cost the same work and count alike in the throttle
    /// whatever the setting.
    Generic,
}

impl LoginErrors {
    /// The error a client is told for `fault` under this setting.
    pub fn error(self, fault: CredentialFault) -> LoginError {
        match (self, fault) {
            (Self::Generic, fault) => LoginError::InvalidCredentials(fault),
            (Self::Compatible, CredentialFault::UnknownEmail) => LoginError::UnknownEmail,
            (Self::Compatible, CredentialFault::WrongPassword) => LoginError::WrongPassword,
        }
    }
}

/// The rules the authentication use cases apply.
#[derive(Clone, Copy, Debug)]
pub struct AuthRules {
    /// Whether logins open sessions (the session `AUTH_TYPE`s); when not,
    /// a login answers [`LoginError::NoSessions`].
    pub session_logins: bool,
    /// Session lifetime and idle timeout.
    pub sessions: SessionRules,
    /// Brute-force limits.
    pub throttle: ThrottleRules,
    /// Length limits on new passwords.
    pub passwords: PasswordRules,
    /// What a failed login tells the client.
    pub login_errors: LoginErrors,
}

/// Sessions and credentials: everything the policies and the login, logout,
/// session and password routes need.
pub struct AuthService {
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    tokens: Arc<dyn TokenGenerator>,
    strength: Option<Arc<dyn PasswordStrength>>,
    throttle: Throttle,
    rules: AuthRules,
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
            strength: ports.strength,
            rules,
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
    /// [`LoginError`] saying what was wrong (never a missing field: those
    /// are refused when the input is parsed).
    pub async fn check_credentials(
        &self,
        credentials: &EmailAndPassword,
        client_address: Option<&str>,
    ) -> Result<User, LoginError> {
        let EmailAndPassword { email, password } = credentials;
        let account = AccountKey::of(email.as_str());
        // An address no account can have names no one; the storage is not
        // asked (PostgreSQL refuses a NUL in a query parameter).
        let storable = email.check_storable().is_ok();
        let address = client_address.unwrap_or(UNKNOWN_ADDRESS);
        if let Some(wait) = self
            .throttle
            .wait_before(&account, address, self.clock.now())
            .await?
        {
            return Err(LoginError::TooManyAttempts(wait));
        }
        let user = if storable {
            self.users
                .find_by_email(email)
                .await
                .map_err(Failure::from)?
        } else {
            None
        };
        let Some(user) = user else {
            // The same work as a wrong password: one verification against
            // a hash of the same parameters, and one failure counted.
            self.hasher
                .verify(password, &self.hasher.decoy())
                .await
                .map_err(Failure::from)?;
            self.throttle
                .record_failure(account, address, self.clock.now())
                .await?;
            return Err(self.rules.login_errors.error(CredentialFault::UnknownEmail));
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
            return Err(self
                .rules
                .login_errors
                .error(CredentialFault::WrongPassword));
        }
        Ok(self.upgrade_legacy_hash(user, password).await)
    }

    async fn upgrade_legacy_hash(&self, user: User, password: &Password) -> User {
        if !user.password_hash.needs_upgrade() {
            return user;
        }
        let hash = match self.hasher.hash(password).await {
            Ok(hash) => hash,
            Err(error) => {
                tracing::warn!(user_id = %user.id, error = %error, "could not upgrade a legacy password hash; will retry at next login");
                return user;
            }
        };
        // Only if the legacy hash is still the stored one: a password
        // changed meanwhile is never replaced by the old one.
        let replaced = self
            .users
            .replace_password_hash(&user.id, &user.password_hash, &hash, None)
            .await;
        match replaced {
            Ok(true) => {
                tracing::info!(user_id = %user.id, "upgraded a legacy SHA-256 password hash to Argon2id");
                User {
                    password_hash: hash,
                    ..user
                }
            }
            Ok(false) => user,
            Err(error) => {
                tracing::warn!(user_id = %user.id, error = %error, "could not store an upgraded password hash; will retry at next login");
                user
            }
        }
    }

    /// The login use case, handed out only when logins open sessions (the
    /// session `AUTH_TYPE`s): under the other policies there is nothing to
    /// log in to.
    ///
    /// # Errors
    /// [`LoginError::NoSessions`] under a policy without sessions.
    pub fn logins(&self) -> Result<Logins<'_>, LoginError> {
        if self.rules.session_logins {
            Ok(Logins(self))
        } else {
            Err(LoginError::NoSessions)
        }
    }

    async fn open_session(
        &self,
        user: &User,
        client: &ClientInfo,
    ) -> Result<SessionToken, RepositoryError> {
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

    /// The live session of `token` with its user; `None` for an unknown,
    /// expired or idle token, or a session whose user is gone. Records
    /// activity at most once per [`SessionRules::touch_interval`].
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn session_for_token(
        &self,
        token: &SessionToken,
    ) -> Result<Option<(Session, User)>, Failure> {
        let found = self
            .sessions
            .find_with_user(&token.key(), self.users.as_ref())
            .await?;
        let Some((session, Some(user))) = found else {
            return Ok(None);
        };
        let now = self.clock.now();
        if !self.rules.sessions.is_live(&session, now) {
            return Ok(None);
        }
        if self.rules.sessions.needs_touch(&session, now) {
            // Recording activity is bookkeeping: when it fails (a full
            // disk), the request is still served and the next one retries.
            if let Err(error) = self
                .sessions
                .touch(&session.key, truncate_to_seconds(now))
                .await
            {
                tracing::warn!(error = %error, "could not record session activity; will retry");
            }
        }
        Ok(Some((session, user)))
    }

    /// Ends `session` (the one that authenticated the request); `false`
    /// when it had already ended.
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn logout(&self, session: &Session) -> Result<bool, Failure> {
        Ok(self.sessions.delete(&session.key).await?)
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
        keep: Option<&SessionKey>,
    ) -> Result<u64, Failure> {
        Ok(self.sessions.delete_by_user(user, keep).await?)
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
        handle: SessionId,
    ) -> Result<Option<Session>, Failure> {
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
        change: PasswordChange,
        keep: Option<&SessionKey>,
        client_address: Option<&str>,
    ) -> Result<User, ChangePasswordError> {
        let PasswordChange { current, new } = change;
        self.rules
            .passwords
            .check_new(&new, self.strength.as_deref(), &user.own_words())?;
        let current = EmailAndPassword {
            email: user.email.clone(),
            password: current,
        };
        let verified = match self.check_credentials(&current, client_address).await {
            Ok(verified) if verified.id == user.id => verified,
            Ok(_)
            | Err(
                LoginError::UnknownEmail
                | LoginError::WrongPassword
                | LoginError::InvalidCredentials(_),
            ) => {
                return Err(ChangePasswordError::WrongPassword);
            }
            Err(LoginError::TooManyAttempts(wait)) => {
                return Err(ChangePasswordError::TooManyAttempts(wait));
            }
            Err(LoginError::Failure(failure)) => return Err(failure.into()),
            Err(
                LoginError::EmailMissing | LoginError::PasswordMissing | LoginError::NoSessions,
            ) => {
                return Err(ChangePasswordError::CurrentMissing);
            }
        };
        let verified_hash = verified.password_hash.clone();
        let changed = User {
            password_hash: self.hasher.hash(&new).await.map_err(Failure::from)?,
            updated_at: truncate_to_seconds(self.clock.now()),
            ..verified
        };
        // Only over the hash just verified: of two concurrent changes from
        // the same current password, one wins and the other is refused.
        let replaced = self
            .users
            .replace_password_hash(
                &changed.id,
                &verified_hash,
                &changed.password_hash,
                Some(changed.updated_at),
            )
            .await
            .map_err(Failure::from)?;
        if !replaced {
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

impl AuthService {
    /// How many sessions are live right now, when the session store can
    /// count them (for the metrics).
    ///
    /// # Errors
    /// Only infrastructure failures.
    pub async fn live_sessions(&self) -> Result<Option<u64>, Failure> {
        let (created_before, last_used_before) =
            self.rules.sessions.expiry_cutoffs(self.clock.now());
        Ok(self
            .sessions
            .count_live(created_before, last_used_before)
            .await?)
    }
}

/// Logins that open sessions; see [`AuthService::logins`].
pub struct Logins<'a>(&'a AuthService);

impl Logins<'_> {
    /// Logs in: checks the credentials and opens a new session. The token is
    /// always new (never one the client sent) and returned to be sent to
    /// the client; only its digest is stored.
    ///
    /// # Errors
    /// [`LoginError`] saying what was wrong.
    pub async fn login(
        &self,
        credentials: &EmailAndPassword,
        client: &ClientInfo,
    ) -> Result<(User, SessionToken), LoginError> {
        let auth = self.0;
        let user = auth
            .check_credentials(credentials, client.address.as_deref())
            .await?;
        match auth.open_session(&user, client).await {
            Ok(token) => Ok((user, token)),
            // The user was deleted between the password check and the
            // session: as if they had not existed.
            Err(RepositoryError::NoSuchUser) => {
                Err(auth.rules.login_errors.error(CredentialFault::UnknownEmail))
            }
            Err(other) => Err(Failure::from(other).into()),
        }
    }
}
