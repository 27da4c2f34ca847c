//! Storage in SQL through SeaORM: PostgreSQL for production and for several
//! instances sharing state, SQLite as an embedded option. The schema lives
//! in the `migration` crate.
//!
//! Database errors never cross into the domain as text: a unique violation
//! becomes [`RepositoryError::DuplicateEmail`], a lost connection
//! [`RepositoryError::Unavailable`] (503), anything else
//! [`RepositoryError::Unexpected`] with the `DbErr` kept as its source for
//! the log.
//!
//! Its files, each importing only from those listed before it: `options`
//! (the settings), `errors`, `entity`, `rows` (rows and domain values),
//! `sql` (SQL text per backend), `direct_sqlite` (the per-request look-up
//! on SQLite, on the request's thread), `direct` (the per-request
//! look-up's connections), `cache` (the session cache), `store` (the store and its
//! connections), `changes` (its hooks into the caches), `schema`, `batch`
//! (bulk import), and the ports: `users`, `sessions`, `attempts`,
//! `recovery_tickets`.
//!
//! [`RepositoryError::DuplicateEmail`]: domain::RepositoryError::DuplicateEmail
//! [`RepositoryError::Unavailable`]: domain::RepositoryError::Unavailable
//! [`RepositoryError::Unexpected`]: domain::RepositoryError::Unexpected

mod attempts;
mod batch;
mod cache;
mod changes;
mod direct;
mod direct_sqlite;
pub mod entity;
mod errors;
mod options;
mod recovery_tickets;
mod rows;
mod schema;
mod sessions;
mod sql;
mod store;
mod users;

pub use errors::{Cause, ConnectError, Unreachable, redact_url};
pub use options::SqlOptions;
pub use schema::{SchemaError, SchemaState};
pub use store::SqlStore;
