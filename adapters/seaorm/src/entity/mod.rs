//! SeaORM entities of the `users`, `sessions` and `login_failures` tables
//! (see the `migration` crate for the schema).

pub mod login_failure;
pub mod session;
pub mod user;
