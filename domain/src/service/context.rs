//! What every use case is built from: the ports out ([`Ports`]) and the
//! rules resolved once from the configuration ([`Rules`]).

use std::sync::Arc;

use crate::access::AccessRules;
use crate::audit::AuditLog;
use crate::password::PasswordRules;
use crate::ports::{
    AttemptLog, Clock, PasswordHasher, PasswordStrength, SessionRepository, TokenGenerator,
    UserRepository,
};
use crate::service::credentials::LoginErrors;
use crate::session::SessionRules;
use crate::throttle::ThrottleRules;

/// The ports out the use cases need.
#[derive(Clone)]
pub struct Ports {
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
    /// Where security events go.
    pub audit: Arc<dyn AuditLog>,
}

/// Every rule the use cases apply, resolved once from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    /// Whether logins open sessions (the session `AUTH_TYPE`s); when not,
    /// a login answers [`LoginError::NoSessions`](crate::LoginError::NoSessions).
    pub session_logins: bool,
    /// Session lifetime and idle timeout.
    pub sessions: SessionRules,
    /// Brute-force limits (password checks and registrations).
    pub throttle: ThrottleRules,
    /// Length limits on new passwords.
    pub passwords: PasswordRules,
    /// What a failed login tells the client.
    pub login_errors: LoginErrors,
    /// Who may do what to which user.
    pub access: AccessRules,
}
