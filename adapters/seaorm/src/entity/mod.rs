//! SeaORM entities of the `users`, `sessions`, `login_failures` and
//! `recovery_tickets` tables
//! (see the `migration` crate for the schema).

pub mod login_failure;
pub mod recovery_ticket;
pub mod session;
pub mod user;
