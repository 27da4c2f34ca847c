//! Passwords: a user's own change (with the current password) and an
//! operator's reset; either ends the user's other sessions.

use std::sync::Arc;

use async_trait::async_trait;

use crate::actor::Actor;
use crate::audit::{AuditEvent, AuditLog, Via};
use crate::credentials::EmailAndPassword;
use crate::error::{ChangePasswordError, Failure, LoginError, SetPasswordError};
use crate::inbound::PasswordManagement;
use crate::input::PasswordChange;
use crate::password::{Password, PasswordRules};
use crate::ports::{Clock, PasswordHasher, PasswordStrength, SessionRepository, UserRepository};
use crate::service::context::{Ports, Rules};
use crate::service::credentials::PasswordCheck;
use crate::truncate_to_seconds;
use crate::user::{User, UserId};

/// The password use cases.
pub struct PasswordService {
    check: Arc<PasswordCheck>,
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    strength: Option<Arc<dyn PasswordStrength>>,
    audit: Arc<dyn AuditLog>,
    rules: PasswordRules,
}

impl PasswordService {
    pub(crate) fn new(ports: &Ports, rules: &Rules, check: Arc<PasswordCheck>) -> Self {
        Self {
            check,
            users: ports.users.clone(),
            sessions: ports.sessions.clone(),
            hasher: ports.hasher.clone(),
            clock: ports.clock.clone(),
            strength: ports.strength.clone(),
            audit: ports.audit.clone(),
            rules: rules.passwords,
        }
    }

    /// The current password of a change, checked as a sign-in is; the
    /// refusals are audited as the change's own.
    async fn verify_current(
        &self,
        actor: &Actor,
        user: &User,
        current: Password,
    ) -> Result<User, ChangePasswordError> {
        let current = EmailAndPassword {
            email: user.email.clone(),
            password: current,
        };
        let refused = match self.check.check(&current, actor, Via::PasswordChange).await {
            Ok(verified) if verified.id == user.id => return Ok(verified),
            Ok(_)
            | Err(
                LoginError::UnknownEmail
                | LoginError::WrongPassword
                | LoginError::InvalidCredentials(_),
            ) => ChangePasswordError::WrongPassword,
            Err(LoginError::TooManyAttempts(wait)) => ChangePasswordError::TooManyAttempts(wait),
            Err(LoginError::Failure(failure)) => return Err(failure.into()),
            Err(
                LoginError::EmailMissing | LoginError::PasswordMissing | LoginError::NoSessions,
            ) => return Err(ChangePasswordError::CurrentMissing),
        };
        let event = match refused {
            ChangePasswordError::TooManyAttempts(_) => AuditEvent::LoginThrottled {
                via: Via::PasswordChange,
                email: None,
                user: Some(user.id),
            },
            _ => AuditEvent::PasswordChangeFailed { user: user.id },
        };
        self.audit.record(actor, event);
        Err(refused)
    }
}

#[async_trait]
impl PasswordManagement for PasswordService {
    async fn change_password(
        &self,
        actor: &Actor,
        change: PasswordChange,
    ) -> Result<User, ChangePasswordError> {
        let user = actor.user().ok_or(ChangePasswordError::NoUser)?;
        let PasswordChange { current, new } = change;
        self.rules
            .check_new(&new, self.strength.as_deref(), &user.own_words())?;
        let verified = self.verify_current(actor, user, current).await?;
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
        // Only a session policy signs in with a session: under basic_auth
        // every session of the user ends.
        let keep = actor.session().map(|session| &session.key);
        let sessions_ended = self
            .sessions
            .delete_by_user(&changed.id, keep)
            .await
            .map_err(Failure::from)?;
        self.audit.record(
            actor,
            AuditEvent::PasswordChanged {
                user: changed.id,
                sessions_ended,
            },
        );
        Ok(changed)
    }

    async fn set_password(
        &self,
        actor: &Actor,
        id: &UserId,
        password: &Password,
    ) -> Result<(User, u64), SetPasswordError> {
        if !actor.is_operator() {
            return Err(SetPasswordError::Forbidden);
        }
        let user = self
            .users
            .get(id)
            .await?
            .ok_or(SetPasswordError::NoSuchUser)?;
        self.rules
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
        self.audit.record(
            actor,
            AuditEvent::PasswordChanged {
                user: *id,
                sessions_ended: ended,
            },
        );
        let user = User {
            password_hash: new_hash,
            updated_at: at,
            ..user
        };
        Ok((user, ended))
    }
}
