//! The crate's errors: `DbErr` translated into the port's errors, the
//! failure to connect (naming the URL without its password), and the
//! cause of an unreachable database in an operator's words (connection
//! refused, database does not exist, authentication failed, TLS required,
//! timed out), said at start, by `config check` and by `/readyz`.

use sea_orm::{DbErr, RuntimeErr, sqlx};

use domain::RepositoryError;

/// The database could not be reached at start.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to the database at {url}: {}", Cause::of(source))]
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

/// Why the database cannot be reached, as an operator fixes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// Nothing listens at the URL's host and port.
    ConnectionRefused,
    /// The server has no database of the URL's name.
    DatabaseDoesNotExist,
    /// The server refused the URL's user or password.
    AuthenticationFailed,
    /// `sslmode` asks for TLS and the server offers none.
    TlsRequiredByClient,
    /// The server accepts only TLS connections and the URL asks for none.
    TlsRequiredByServer,
    /// TLS could not be set up (certificate, handshake).
    Tls(String),
    /// No answer in time (a host that drops packets, a server that hangs).
    TimedOut,
    /// The host name does not resolve.
    UnknownHost,
    /// Anything else, in the driver's words.
    Other(String),
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ConnectionRefused => write!(
                f,
                "connection refused (is the server running, and on this host and port?)"
            ),
            Self::DatabaseDoesNotExist => write!(
                f,
                "database does not exist (create it, or fix the name at the end of the URL)"
            ),
            Self::AuthenticationFailed => {
                write!(f, "authentication failed (check the user and password)")
            }
            Self::TlsRequiredByClient => write!(
                f,
                "TLS required by the URL (sslmode) but the server does not offer it"
            ),
            Self::TlsRequiredByServer => write!(
                f,
                "TLS required by the server: add sslmode=require to the URL"
            ),
            Self::Tls(detail) => write!(f, "TLS failed: {detail}"),
            Self::TimedOut => write!(
                f,
                "timed out (no answer from the host: firewall, wrong address, or a server that hangs)"
            ),
            Self::UnknownHost => write!(f, "unknown host (the host name does not resolve)"),
            Self::Other(detail) => write!(f, "{detail}"),
        }
    }
}

impl Cause {
    /// The cause of `error`.
    pub fn of(error: &DbErr) -> Self {
        match error {
            DbErr::ConnectionAcquire(sea_orm::error::ConnAcquireErr::Timeout) => Self::TimedOut,
            DbErr::Conn(RuntimeErr::SqlxError(e))
            | DbErr::Exec(RuntimeErr::SqlxError(e))
            | DbErr::Query(RuntimeErr::SqlxError(e)) => Self::of_sqlx(e),
            other => Self::Other(other.to_string()),
        }
    }

    /// The cause of a driver error.
    pub fn of_sqlx(error: &sqlx::Error) -> Self {
        match error {
            sqlx::Error::Io(io) => match io.kind() {
                std::io::ErrorKind::ConnectionRefused => Self::ConnectionRefused,
                std::io::ErrorKind::TimedOut => Self::TimedOut,
                _ if io.to_string().contains("failed to lookup address")
                    || io.to_string().contains("Name or service not known") =>
                {
                    Self::UnknownHost
                }
                _ => Self::Other(format!("network error: {io}")),
            },
            sqlx::Error::PoolTimedOut => Self::TimedOut,
            sqlx::Error::Tls(tls) if tls.to_string().contains("does not support TLS") => {
                Self::TlsRequiredByClient
            }
            sqlx::Error::Tls(tls) => Self::Tls(tls.to_string()),
            sqlx::Error::Database(db) => match db.code().as_deref() {
                Some("3D000") => Self::DatabaseDoesNotExist,
                Some("28P01") => Self::AuthenticationFailed,
                Some("28000") if db.message().contains("no encryption") => {
                    Self::TlsRequiredByServer
                }
                Some("28000") => Self::AuthenticationFailed,
                // SQLite: SQLITE_CANTOPEN.
                Some("14") => Self::DatabaseDoesNotExist,
                _ => Self::Other(db.message().to_owned()),
            },
            // The URL itself is wrong: its text may hold the password, so
            // only the kind of problem is said.
            sqlx::Error::Configuration(_) => {
                Self::Other("the URL is not valid for this database".to_owned())
            }
            other => Self::Other(other.to_string()),
        }
    }
}

/// A database that does not answer, with its cause: what a failed
/// statement is reported as (`/readyz` says it after "storage
/// unavailable").
#[derive(Debug, thiserror::Error)]
#[error("{cause}")]
pub struct Unreachable {
    /// Why, in an operator's words.
    pub cause: Cause,
    /// The driver's error.
    #[source]
    pub source: DbErr,
}

/// Opens one connection to `url` and closes it, within `timeout`: the
/// pool retries a refused connection until its own timeout and then says
/// only that it timed out, where one attempt fails at once with the cause.
///
/// # Errors
/// Why no connection could be opened.
pub(crate) async fn first_contact(url: &str, timeout: std::time::Duration) -> Result<(), DbErr> {
    use sqlx::{ConnectOptions as _, Connection as _};
    let wrap = |e: sqlx::Error| DbErr::Conn(RuntimeErr::SqlxError(std::sync::Arc::new(e)));
    let attempt = async {
        if url.starts_with("sqlite:") {
            let options: sqlx::sqlite::SqliteConnectOptions = url.parse().map_err(wrap)?;
            options
                .connect()
                .await
                .map_err(wrap)?
                .close()
                .await
                .map_err(wrap)
        } else {
            let options: sqlx::postgres::PgConnectOptions = url.parse().map_err(wrap)?;
            options
                .connect()
                .await
                .map_err(wrap)?
                .close()
                .await
                .map_err(wrap)
        }
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or(Err(DbErr::ConnectionAcquire(
            sea_orm::error::ConnAcquireErr::Timeout,
        )))
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
        RepositoryError::Unavailable(Box::new(Unreachable {
            cause: Cause::of(&error),
            source: error,
        }))
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
