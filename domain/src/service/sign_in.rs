//! Signing in: a login that opens a session, and the look-ups the
//! authentication policies make for every request (a session token, a
//! Basic header's email and password).

use std::sync::Arc;

use async_trait::async_trait;

use crate::actor::Actor;
use crate::audit::{AuditEvent, AuditLog, Via};
use crate::credentials::EmailAndPassword;
use crate::error::{CredentialFault, Failure, LoginError, RepositoryError};
use crate::inbound::{SignIn, SignedIn};
use crate::ports::{Clock, SessionRepository, TokenGenerator, UserRepository};
use crate::service::context::{Ports, Rules};
use crate::service::credentials::PasswordCheck;
use crate::session::{ClientInfo, Session, SessionId, SessionLifetime, SessionRules, SessionToken};
use crate::truncate_to_seconds;
use crate::user::User;

/// The sign-in use case.
pub struct AuthService {
    check: Arc<PasswordCheck>,
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    clock: Arc<dyn Clock>,
    tokens: Arc<dyn TokenGenerator>,
    audit: Arc<dyn AuditLog>,
    session_logins: bool,
    rules: SessionRules,
}

impl AuthService {
    pub(crate) fn new(ports: &Ports, rules: &Rules, check: Arc<PasswordCheck>) -> Self {
        Self {
            check,
            users: ports.users.clone(),
            sessions: ports.sessions.clone(),
            clock: ports.clock.clone(),
            tokens: ports.tokens.clone(),
            audit: ports.audit.clone(),
            session_logins: rules.session_logins,
            rules: rules.sessions,
        }
    }

    /// The user whose email and password an HTTP Basic header carries,
    /// sent by `client`; failures are audited as sign-ins `via` Basic.
    ///
    /// # Errors
    /// [`LoginError`] saying what was wrong.
    pub async fn check_basic(
        &self,
        credentials: &EmailAndPassword,
        client: &ClientInfo,
    ) -> Result<User, LoginError> {
        let actor = Actor {
            client: client.clone(),
            ..Actor::default()
        };
        self.check.check(credentials, &actor, Via::Basic).await
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
        let Some((mut session, Some(user))) = found else {
            return Ok(None);
        };
        let now = self.clock.now();
        if !self.rules.is_live(&session, now) {
            // Idle by the activity time the look-up saw, which a cache may
            // hold stale (another instance's touch not heard yet): the
            // stored row decides before the session is refused.
            if !self.rules.lifetime.is_valid_at(session.created_at, now) {
                return Ok(None);
            }
            match self.sessions.find(&session.key).await? {
                Some(stored) if self.rules.is_live(&stored, now) => session = stored,
                _ => return Ok(None),
            }
        }
        if self.rules.needs_touch(&session, now) {
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
}

#[async_trait]
impl SignIn for AuthService {
    async fn login(
        &self,
        actor: &Actor,
        email: Option<&str>,
        password: Option<&str>,
    ) -> Result<SignedIn, LoginError> {
        if !self.session_logins {
            return Err(LoginError::NoSessions);
        }
        let credentials = &EmailAndPassword::parse(email, password)?;
        let user = self.check.check(credentials, actor, Via::Form).await?;
        match self.open_session(&user, &actor.client).await {
            Ok(token) => {
                self.audit
                    .record(actor, AuditEvent::LoginSucceeded { user: user.id });
                Ok(SignedIn { user, token })
            }
            // The user was deleted between the password check and the
            // session: as if they had not existed.
            Err(RepositoryError::NoSuchUser) => {
                let error = self
                    .check
                    .login_errors()
                    .error(CredentialFault::UnknownEmail);
                self.check
                    .audit_failure(actor, Via::Form, credentials, &error);
                Err(error)
            }
            Err(other) => Err(Failure::from(other).into()),
        }
    }

    fn session_lifetime(&self) -> SessionLifetime {
        self.rules.lifetime
    }

    fn opens_sessions(&self) -> bool {
        self.session_logins
    }
}
