//! Password reset by mail ([`RecoveryService`]), what stands in for it
//! when no mailer is configured ([`RecoveryOff`]), and the sweeper's
//! share of it ([`SweepsTickets`]).
//!
//! A request is answered alike whether or not its email names an account:
//! the same work (one throttle check and record, one user look-up, one
//! token drawn, no hashing) runs either way, the ticket is stored and the
//! mail queued only for an account, and the mailer never makes the
//! request wait.

use std::sync::Arc;

use async_trait::async_trait;

use crate::actor::Actor;
use crate::attempt::{AccountKey, UNKNOWN_ADDRESS};
use crate::audit::{AuditEvent, AuditLog};
use crate::error::{Failure, RequestResetError, ResetPasswordError};
use crate::inbound::{Housekeeping, PasswordRecovery};
use crate::mail::{Mail, Mailer};
use crate::password::{Password, PasswordRules};
use crate::ports::{
    Clock, PasswordHasher, PasswordStrength, SessionRepository, TokenGenerator, UserRepository,
};
use crate::recovery::{
    RecoveryPurpose, RecoveryRules, RecoveryTicket, RecoveryToken, RecoveryTokenRepository,
};
use crate::service::context::{Ports, Rules};
use crate::throttle::{Throttle, ThrottleRules};
use crate::truncate_to_seconds;
use crate::user::{Email, User, fold};

/// What recovery needs beyond the common ports: where tickets live and
/// where mail goes.
#[derive(Clone)]
pub struct RecoveryPorts {
    /// The tickets.
    pub tickets: Arc<dyn RecoveryTokenRepository>,
    /// The outgoing mail.
    pub mailer: Arc<dyn Mailer>,
}

/// How many times a reset retries setting the hash when the password
/// changed between reading the user and writing the new hash.
const HASH_RACE_RETRIES: usize = 3;

/// The password-reset use case.
pub struct RecoveryService {
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    tokens: Arc<dyn TokenGenerator>,
    strength: Option<Arc<dyn PasswordStrength>>,
    audit: Arc<dyn AuditLog>,
    passwords: PasswordRules,
    tickets: Arc<dyn RecoveryTokenRepository>,
    mailer: Arc<dyn Mailer>,
    requests: Throttle,
    rules: RecoveryRules,
}

impl RecoveryService {
    /// Builds it over the common `ports` and `rules`, with `recovery`'s
    /// tickets and mailer under `recovery_rules`.
    pub fn new(
        ports: &Ports,
        rules: &Rules,
        recovery: RecoveryPorts,
        recovery_rules: RecoveryRules,
    ) -> Self {
        // Requests are counted in the failed-login log under keys of their
        // own (prefixed addresses and emails), so they never count against
        // a login's limits nor a login against theirs.
        let requests = Throttle::new(
            ports.attempts.clone(),
            ThrottleRules {
                account_max_failures: recovery_rules.per_account,
                account_window: recovery_rules.window,
                address_max_failures: recovery_rules.per_address,
                backoff: recovery_rules.window,
            },
        );
        Self {
            users: ports.users.clone(),
            sessions: ports.sessions.clone(),
            hasher: ports.hasher.clone(),
            clock: ports.clock.clone(),
            tokens: ports.tokens.clone(),
            strength: ports.strength.clone(),
            audit: ports.audit.clone(),
            passwords: rules.passwords,
            tickets: recovery.tickets,
            mailer: recovery.mailer,
            requests,
            rules: recovery_rules,
        }
    }

    /// Whether this request passes the limits; counts it either way.
    async fn admitted(&self, actor: &Actor, email: &str) -> Result<bool, Failure> {
        let address = format!(
            "password reset {}",
            actor.address().unwrap_or(UNKNOWN_ADDRESS)
        );
        let account = AccountKey::of(&format!("password reset {}", fold(email)));
        let now = self.clock.now();
        let wait = self.requests.wait_before(&account, &address, now).await?;
        self.requests.record_failure(account, &address, now).await?;
        Ok(wait.is_none())
    }

    /// Sets `password`'s hash on `user`, over whatever hash they have when
    /// it is written (a reset overrides a change made meanwhile).
    async fn replace_hash(
        &self,
        mut user: User,
        password: &Password,
    ) -> Result<(), ResetPasswordError> {
        let new_hash = self.hasher.hash(password).await.map_err(Failure::from)?;
        for _ in 0..HASH_RACE_RETRIES {
            let at = truncate_to_seconds(self.clock.now());
            if self
                .users
                .replace_password_hash(&user.id, &user.password_hash, &new_hash, Some(at))
                .await?
            {
                return Ok(());
            }
            user = self
                .users
                .get(&user.id)
                .await?
                .ok_or(ResetPasswordError::InvalidToken)?;
        }
        Err(Failure::Unexpected("the password kept changing during a reset".into()).into())
    }

    fn refuse(&self, actor: &Actor) -> ResetPasswordError {
        self.audit.record(actor, AuditEvent::PasswordResetRefused);
        ResetPasswordError::InvalidToken
    }
}

/// Some text when it is not empty.
fn given(text: Option<&str>) -> Option<&str> {
    text.filter(|text| !text.is_empty())
}

#[async_trait]
impl PasswordRecovery for RecoveryService {
    fn enabled(&self) -> bool {
        true
    }

    async fn request_reset(
        &self,
        actor: &Actor,
        email: Option<&str>,
    ) -> Result<(), RequestResetError> {
        let email = given(email.map(str::trim)).ok_or(RequestResetError::EmailMissing)?;
        if !self.admitted(actor, email).await? {
            self.audit.record(actor, AuditEvent::PasswordResetThrottled);
            return Ok(());
        }
        let user = match Email::parse(email) {
            Some(email) => self.users.find_by_email(&email).await?,
            None => None,
        };
        // Drawn either way, so both answers cost the same.
        let token = RecoveryToken::from_generated(&self.tokens.generate());
        let Some(user) = user else {
            self.audit
                .record(actor, AuditEvent::PasswordResetRequested { user: None });
            return Ok(());
        };
        let now = truncate_to_seconds(self.clock.now());
        let ticket = RecoveryTicket {
            key: token.key(),
            user_id: user.id,
            purpose: RecoveryPurpose::PasswordReset,
            created_at: now,
            expires_at: now + self.rules.reset_lifetime,
        };
        match self.tickets.insert_ticket(&ticket).await {
            Ok(()) => {}
            // Deleted meanwhile: as for an unknown email.
            Err(crate::error::RepositoryError::NoSuchUser) => return Ok(()),
            Err(other) => return Err(other.into()),
        }
        let mail = Mail::PasswordReset {
            to: user.email.clone(),
            token,
            valid_for: self.rules.reset_lifetime,
        };
        if let Err(error) = self.mailer.send(mail) {
            // The answer stays the same: the mailer counts what it drops.
            tracing::warn!(error = %error, "password-reset mail not queued");
        }
        self.audit.record(
            actor,
            AuditEvent::PasswordResetRequested {
                user: Some(user.id),
            },
        );
        Ok(())
    }

    async fn reset_password(
        &self,
        actor: &Actor,
        token: Option<&str>,
        new_password: Option<&str>,
    ) -> Result<(), ResetPasswordError> {
        let token = given(token).ok_or(ResetPasswordError::TokenMissing)?;
        let password = given(new_password)
            .and_then(Password::parse)
            .ok_or(ResetPasswordError::PasswordMissing)?;
        let key = RecoveryToken::from_client(token).key();
        let now = self.clock.now();
        let ticket = match self.tickets.find_ticket(&key).await? {
            Some(ticket)
                if ticket.purpose == RecoveryPurpose::PasswordReset && ticket.is_live(now) =>
            {
                ticket
            }
            _ => return Err(self.refuse(actor)),
        };
        let Some(user) = self.users.get(&ticket.user_id).await? else {
            return Err(self.refuse(actor));
        };
        // The rules before the token is used up: a refused password leaves
        // the link working.
        self.passwords
            .check_new(&password, self.strength.as_deref(), &user.own_words())?;
        if !self.tickets.take_ticket(&key).await? {
            return Err(self.refuse(actor));
        }
        let id = user.id;
        self.replace_hash(user, &password).await?;
        self.tickets
            .delete_tickets_of(&id, RecoveryPurpose::PasswordReset)
            .await?;
        let sessions_ended = self.sessions.delete_by_user(&id, None).await?;
        self.audit.record(
            actor,
            AuditEvent::PasswordReset {
                user: id,
                sessions_ended,
            },
        );
        Ok(())
    }
}

/// Recovery when no mailer is configured: there is nothing to reach.
#[derive(Clone, Copy, Debug, Default)]
pub struct RecoveryOff;

#[async_trait]
impl PasswordRecovery for RecoveryOff {
    fn enabled(&self) -> bool {
        false
    }

    async fn request_reset(&self, _: &Actor, _: Option<&str>) -> Result<(), RequestResetError> {
        Err(RequestResetError::Disabled)
    }

    async fn reset_password(
        &self,
        _: &Actor,
        _: Option<&str>,
        _: Option<&str>,
    ) -> Result<(), ResetPasswordError> {
        Err(ResetPasswordError::Disabled)
    }
}

/// The housekeeping use case with expired tickets swept too.
pub struct SweepsTickets {
    inner: Arc<dyn Housekeeping>,
    tickets: Arc<dyn RecoveryTokenRepository>,
    clock: Arc<dyn Clock>,
}

impl SweepsTickets {
    /// `inner`, whose sweep also removes expired `tickets`.
    pub fn new(
        inner: Arc<dyn Housekeeping>,
        tickets: Arc<dyn RecoveryTokenRepository>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner,
            tickets,
            clock,
        }
    }
}

#[async_trait]
impl Housekeeping for SweepsTickets {
    async fn ping(&self) -> Result<(), Failure> {
        self.inner.ping().await
    }

    async fn user_count(&self) -> Result<u64, Failure> {
        self.inner.user_count().await
    }

    async fn live_sessions(&self) -> Result<Option<u64>, Failure> {
        self.inner.live_sessions().await
    }

    async fn prune_expired(&self) -> Result<u64, Failure> {
        let ended = self.inner.prune_expired().await?;
        self.tickets
            .delete_expired_tickets(self.clock.now())
            .await?;
        Ok(ended)
    }
}
