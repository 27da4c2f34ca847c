//! SeaORM entities of the `users` and `sessions` tables (see the
//! `migration` crate for the schema).

pub mod session;
pub mod user;
