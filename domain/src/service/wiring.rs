//! What the use cases are reached through (the ports in):
//! [`UseCases::wire`], the one place that builds every use case.

use std::sync::Arc;

use crate::inbound::{
    Administration, Housekeeping, PasswordManagement, PasswordRecovery, SessionManagement, SignIn,
    UserManagement,
};
use crate::recovery::RecoveryRules;
use crate::service::context::{Ports, Rules};
use crate::service::credentials::PasswordCheck;
use crate::service::housekeeping::Maintenance;
use crate::service::passwords::PasswordService;
use crate::service::recovery::{RecoveryOff, RecoveryPorts, RecoveryService, SweepsTickets};
use crate::service::sessions::SessionService;
use crate::service::sign_in::AuthService;
use crate::service::users::UserService;

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
    /// Password reset by mail ([`RecoveryOff`] unless
    /// [`Self::with_recovery`] turned it on).
    pub recovery: Arc<dyn PasswordRecovery>,
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
            recovery: Arc::new(RecoveryOff),
        };
        (use_cases, auth)
    }

    /// These use cases with password reset by mail turned on over
    /// `recovery`'s tickets and mailer (the sweeper then removes expired
    /// tickets too).
    #[must_use]
    pub fn with_recovery(
        mut self,
        ports: &Ports,
        rules: &Rules,
        recovery: RecoveryPorts,
        recovery_rules: RecoveryRules,
    ) -> Self {
        self.housekeeping = Arc::new(SweepsTickets::new(
            self.housekeeping,
            recovery.tickets.clone(),
            ports.clock.clone(),
        ));
        self.recovery = Arc::new(RecoveryService::new(ports, rules, recovery, recovery_rules));
        self
    }
}
