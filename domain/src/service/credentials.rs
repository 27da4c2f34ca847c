//! The one password check every front door's credentials go through (the
//! login form, HTTP Basic, a password change's current password): the
//! brute-force limits, the same work for an unknown email as for a wrong
//! password, the upgrade of legacy hashes, and the audit of failures.

use std::sync::Arc;

use crate::actor::Actor;
use crate::attempt::{AccountKey, UNKNOWN_ADDRESS};
use crate::audit::{AuditEvent, AuditLog, Via};
use crate::credentials::EmailAndPassword;
use crate::error::{CredentialFault, Failure, LoginError};
use crate::password::Password;
use crate::ports::{Clock, PasswordHasher, UserRepository};
use crate::service::context::{Ports, Rules};
use crate::throttle::Throttle;
use crate::user::User;

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

/// Checks emails and passwords under the brute-force limits.
pub(crate) struct PasswordCheck {
    users: Arc<dyn UserRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    throttle: Throttle,
    login_errors: LoginErrors,
    audit: Arc<dyn AuditLog>,
}

impl PasswordCheck {
    pub(crate) fn new(ports: &Ports, rules: &Rules) -> Self {
        Self {
            users: ports.users.clone(),
            hasher: ports.hasher.clone(),
            clock: ports.clock.clone(),
            throttle: Throttle::new(ports.attempts.clone(), rules.throttle),
            login_errors: rules.login_errors,
            audit: ports.audit.clone(),
        }
    }

    /// What a failed login tells the client.
    pub(crate) fn login_errors(&self) -> LoginErrors {
        self.login_errors
    }

    /// Checks an email and password for `actor` under the brute-force
    /// limits; on success a legacy SHA-256 hash is replaced by Argon2id.
    /// A sign-in's failures and refusals are audited here; a password
    /// change audits its own (it knows the user).
    ///
    /// # Errors
    /// [`LoginError`] saying what was wrong.
    pub(crate) async fn check(
        &self,
        credentials: &EmailAndPassword,
        actor: &Actor,
        via: Via,
    ) -> Result<User, LoginError> {
        let checked = self.check_unaudited(credentials, actor.address()).await;
        if via != Via::PasswordChange
            && let Err(error) = &checked
        {
            let email = Some(credentials.email.as_str().to_owned());
            match error {
                LoginError::TooManyAttempts(_) => self.audit.record(
                    actor,
                    AuditEvent::LoginThrottled {
                        via,
                        email,
                        user: None,
                    },
                ),
                LoginError::UnknownEmail
                | LoginError::WrongPassword
                | LoginError::InvalidCredentials(_) => {
                    self.audit_failure(actor, via, credentials, error)
                }
                _ => {}
            }
        }
        checked
    }

    /// Audits a failed sign-in; the reason says which credential was wrong
    /// even when the client is not told (`LOGIN_ERRORS=generic`).
    pub(crate) fn audit_failure(
        &self,
        actor: &Actor,
        via: Via,
        credentials: &EmailAndPassword,
        error: &LoginError,
    ) {
        let reason = match error {
            LoginError::InvalidCredentials(fault) => fault.to_string(),
            other => other.to_string(),
        };
        self.audit.record(
            actor,
            AuditEvent::LoginFailed {
                via,
                email: Some(credentials.email.as_str().to_owned()),
                reason,
            },
        );
    }

    async fn check_unaudited(
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
            return Err(self.login_errors.error(CredentialFault::UnknownEmail));
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
            return Err(self.login_errors.error(CredentialFault::WrongPassword));
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
}
