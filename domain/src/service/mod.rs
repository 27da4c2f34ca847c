//! The use cases, one module each: authentication ([`auth`]) and user
//! management ([`users`]).

pub mod auth;
pub mod users;

pub use auth::{AuthPorts, AuthRules, AuthService, LoginErrors, Logins, PasswordChange};
pub use users::{AdminFlagRequest, NewUser, UserChange, UserRules, UserService};

#[cfg(test)]
mod tests;
