//! The use cases, one module each: signing in ([`sign_in`]), sessions
//! ([`sessions`]), passwords ([`passwords`]), users ([`users`]) and the
//! administrator right ([`admin`]), password reset by mail ([`recovery`]), the service's own housekeeping
//! ([`housekeeping`]), the password check they share ([`credentials`]),
//! what they are built from ([`context`]) and their wiring ([`wiring`]).
//! Each implements a port in ([`crate::inbound`]).

pub mod admin;
pub mod context;
pub mod credentials;
pub mod housekeeping;
pub mod passwords;
pub mod recovery;
pub mod sessions;
pub mod sign_in;
pub mod users;
pub mod wiring;

pub use context::{Ports, Rules};
pub use credentials::LoginErrors;
pub use housekeeping::Maintenance;
pub use passwords::PasswordService;
pub use recovery::{RecoveryOff, RecoveryPorts, RecoveryService};
pub use sessions::SessionService;
pub use sign_in::AuthService;
pub use users::UserService;
pub use wiring::UseCases;

#[cfg(test)]
mod tests;
