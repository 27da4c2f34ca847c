//! What the use cases are built from (the ports out and the rules) and
//! what they are reached through (the ports in): [`Ports`], [`Rules`],
//! and [`UseCases::wire`], the one place that builds every use case.

use std::sync::Arc;

use crate::access::AccessRules;
use crate::audit::AuditLog;
use crate::inbound::{
    Administration, Housekeeping, PasswordManagement, SessionManagement, SignIn, UserManagement,
};
use crate::password::PasswordRules;
use crate::ports::{
    AttemptLog, Clock, PasswordHasher, PasswordStrength, SessionRepository, TokenGenerator,
    UserRepository,
};
use crate::service::credentials::{LoginErrors, PasswordCheck};
use crate::service::housekeeping::Maintenance;
use crate::service::passwords::PasswordService;
use crate::service::sessions::SessionService;
use crate::service::sign_in::AuthService;
use crate::service::users::UserService;
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

/// The use cases behind their ports in: what every front door holds.
#[derive(Clone)]
pub struct UseCases {
    /// Signing in.
    pub sign_in: Arc<dyn SignIn>,
    /// Sessions.
    pub sessions: Arc<dyn SessionManagement>,
    /// Passwords.
    pub passwords: Arc<dyn PasswordManagement>,
    /// Users.
    pub users: Arc<dyn UserManagement>,
    /// The administrator right.
    pub admin: Arc<dyn Administration>,
    /// Probes, metrics and the sweeper.
    pub housekeeping: Arc<dyn Housekeeping>,
}

impl UseCases {
    /// Builds every use case over `ports` under `rules`. The sign-in use
    /// case is also returned as itself: the authentication policies
    /// (`AuthType::policy`) resolve credentials through it.
    pub fn wire(ports: &Ports, rules: &Rules) -> (Self, Arc<AuthService>) {
        let check = Arc::new(PasswordCheck::new(ports, rules));
        let auth = Arc::new(AuthService::new(ports, rules, check.clone()));
        let users = Arc::new(UserService::new(ports, rules));
        let use_cases = Self {
            sign_in: auth.clone(),
            sessions: Arc::new(SessionService::new(ports, rules)),
            passwords: Arc::new(PasswordService::new(ports, rules, check)),
            users: users.clone(),
            admin: users,
            housekeeping: Arc::new(Maintenance::new(ports, rules)),
        };
        (use_cases, auth)
    }
}
