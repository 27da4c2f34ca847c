//! The crate's errors: `DbErr` translated into the port's errors, and the
//! failure to connect (naming the URL without its password).

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

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Only fails for URLs that cannot have a password at all.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "<unparsable database URL>".to_owned(),
    }
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

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_appear_in_a_redacted_url() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/auth"),
            "postgres://app:***@db:5432/auth"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert!(!redact_url("not a url s3cret").contains("s3cret"));
    }
}
