//! What the use cases are reached through (the ports in):
//! [`UseCases::wire`], the one place that builds every use case.

use std::sync::Arc;

use crate::inbound::{
    Administration, Housekeeping, PasswordManagement, SessionManagement, SignIn, UserManagement,
};
use crate::service::context::{Ports, Rules};
use crate::service::credentials::PasswordCheck;
use crate::service::housekeeping::Maintenance;
use crate::service::passwords::PasswordService;
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
