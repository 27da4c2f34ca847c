//! Translating `DbErr` into the port's errors.

use sea_orm::{DbErr, RuntimeErr, sqlx};

use domain::RepositoryError;

/// The database could not be reached at start.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to the database at {url}")]
pub struct ConnectError {
    /// The URL with its password replaced.
    pub url: String,
    /// Why.
    #[source]
    pub source: DbErr,
}

/// Whether the statement broke a unique constraint.
pub(crate) fn is_unique_violation(error: &DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Whether the error means "the database is not there right now" (a retry
/// later may succeed) rather than "this statement is wrong".
pub(crate) fn is_unavailable(error: &DbErr) -> bool {
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                // SQLSTATE class 08 (connection exception), 57P (operator
                // intervention: shutdown, cannot connect now), 57014 (the
                // statement timeout cancelled a blocked statement) and 55P03
                // (a lock could not be had in time), and SQLite's BUSY codes
                // (the busy timeout ran out): a retry may succeed.
                sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                    code.starts_with("08")
                        || code.starts_with("57P")
                        || matches!(&*code, "57014" | "55P03" | "5" | "261" | "517" | "773")
                }),
                _ => false,
            }
        }
        _ => false,
    }
}

/// The port error for a failed statement.
pub(crate) fn classify(error: DbErr) -> RepositoryError {
    if is_unavailable(&error) {
        RepositoryError::Unavailable(Box::new(error))
    } else {
        RepositoryError::Unexpected(Box::new(error))
    }
}

/// A row that cannot be a domain value.
pub(crate) fn corrupt(what: &'static str) -> RepositoryError {
    RepositoryError::Unexpected(what.into())
}
