//! The per-request session look-up on SQLite, run on the request's own
//! thread through rusqlite.
//!
//! sqlx drives each SQLite connection from a worker thread of its own: one
//! statement is a message to that thread, a wake-up, the answer sent back
//! and another wake-up, which cost more CPU than the statement itself (a
//! primary-key read of a memory-mapped file takes a few microseconds).
//! Here the look-up calls SQLite directly on read-only connections kept in
//! a free list, with the statement prepared once per connection.
//!
//! A read never waits for a writer under write-ahead logging, so the call
//! does not block the runtime. Where SQLite still answers BUSY (a writer
//! holding the file exclusively, a journal mode other than WAL), the
//! look-up is retried on tokio's blocking threads with the busy timeout,
//! never waiting on a runtime thread.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, Row};
use sea_orm::sqlx;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::entity::{session, user};

/// The session with this digest and its user (absent when the user is
/// gone), as `direct`'s PostgreSQL statement with SQLite's `?`.
pub(crate) const SESSION_WITH_USER_SQLITE: &str = "SELECT s.token_digest, s.id, s.user_id, s.created_at, \
     s.updated_at, s.last_used_at, s.client_address, s.user_agent, u.seq, u.id, u.email, \
     u.password_hash, u.first_name, u.last_name, u.created_at, u.updated_at, u.is_admin \
     FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.token_digest = ?";

/// Bytes of the database file the look-up connections map: reads go
/// through a shared memory map rather than a copy of each page into every
/// connection's small page cache (with 100,000 sessions a look-up touches
/// pages the cache has not kept).
const MMAP_SIZE: &str = "268435456";

/// A session row and its user row, if any.
type SessionAndUser = (session::Model, Option<user::Model>);

/// At most `size` read-only connections to one SQLite file, kept in a free
/// list.
pub(crate) struct SqliteLane {
    path: PathBuf,
    idle: Arc<Mutex<Vec<Connection>>>,
    permits: Semaphore,
    pub(crate) size: u32,
    timeout: Duration,
}

impl SqliteLane {
    /// Connections to the database file at `path` (opened when first
    /// needed), at most `size` at once; `timeout` bounds the wait for one
    /// and a look-up that SQLite answers BUSY.
    pub(crate) fn new(path: PathBuf, size: u32, timeout: Duration) -> Self {
        let size = size.max(1);
        Self {
            path,
            idle: Arc::new(Mutex::new(Vec::new())),
            permits: Semaphore::new(size as usize),
            size,
            timeout,
        }
    }

    /// The session stored under `digest`, with its user.
    ///
    /// # Errors
    /// The file cannot be opened or read (the connection is dropped), the
    /// database stayed busy for the whole timeout, or a row does not
    /// decode.
    pub(crate) async fn session_with_user(
        &self,
        digest: &str,
    ) -> Result<Option<SessionAndUser>, sqlx::Error> {
        let _permit = tokio::time::timeout(self.timeout, self.permits.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let connection = match idle {
            Some(connection) => connection,
            None => open(&self.path).map_err(into_sqlx)?,
        };
        match look_up(&connection, digest) {
            Err(error) if is_busy(&error) => {
                // Wait for the lock on a blocking thread, with the timeout
                // as SQLite's busy timeout.
                let (digest, timeout, idle) = (digest.to_owned(), self.timeout, self.idle.clone());
                tokio::task::spawn_blocking(move || {
                    connection.busy_timeout(timeout).map_err(into_sqlx)?;
                    let found = look_up(&connection, &digest);
                    connection.busy_timeout(Duration::ZERO).map_err(into_sqlx)?;
                    settle(&idle, connection, found)
                })
                .await
                .map_err(|_| sqlx::Error::WorkerCrashed)?
            }
            found => settle(&self.idle, connection, found),
        }
    }
}

/// The outcome of a look-up on `connection`; the connection goes back to
/// the free list unless it failed for a reason other than the row.
fn settle(
    idle: &Mutex<Vec<Connection>>,
    connection: Connection,
    found: rusqlite::Result<Option<SessionAndUser>>,
) -> Result<Option<SessionAndUser>, sqlx::Error> {
    let reusable = match &found {
        Ok(_) => true,
        Err(error) => is_about_the_row(error),
    };
    if reusable {
        idle.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(connection);
    }
    found.map_err(into_sqlx)
}

/// A read-only connection to `path` that reads through a memory map and
/// answers BUSY at once (the caller decides how to wait).
fn open(path: &PathBuf) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(Duration::ZERO)?;
    connection.pragma_update(None, "mmap_size", MMAP_SIZE)?;
    Ok(connection)
}

/// The look-up itself: one prepared statement, the row decoded by position.
fn look_up(connection: &Connection, digest: &str) -> rusqlite::Result<Option<SessionAndUser>> {
    connection
        .prepare_cached(SESSION_WITH_USER_SQLITE)?
        .query_row([digest], decode)
        .optional()
}

/// A row of `SESSION_WITH_USER_SQLITE`, in the formats sqlx wrote it in
/// (UUIDs as 16-byte blobs, times as RFC 3339 text).
fn decode(row: &Row<'_>) -> rusqlite::Result<SessionAndUser> {
    let session = session::Model {
        token_digest: row.get(0)?,
        id: uuid_at(row, 1)?,
        user_id: uuid_at(row, 2)?,
        created_at: time_at(row, 3)?,
        updated_at: time_at(row, 4)?,
        last_used_at: optional_time_at(row, 5)?,
        client_address: row.get(6)?,
        user_agent: row.get(7)?,
    };
    // The left join found no user when its columns are NULL: the user was
    // deleted.
    let user = match row.get::<_, Option<i64>>(8)? {
        None => None,
        Some(seq) => Some(user::Model {
            seq,
            id: uuid_at(row, 9)?,
            email: row.get(10)?,
            password_hash: row.get(11)?,
            first_name: row.get(12)?,
            last_name: row.get(13)?,
            created_at: time_at(row, 14)?,
            updated_at: time_at(row, 15)?,
            is_admin: row.get(16)?,
        }),
    };
    Ok((session, user))
}

/// A UUID column: a 16-byte blob (how sqlx binds one), or its text form.
fn uuid_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Uuid> {
    let parsed = match row.get_ref(index)? {
        ValueRef::Blob(bytes) => Uuid::from_slice(bytes).ok(),
        ValueRef::Text(text) => std::str::from_utf8(text)
            .ok()
            .and_then(|text| Uuid::parse_str(text).ok()),
        _ => None,
    };
    parsed.ok_or_else(|| bad_column(index, "a UUID"))
}

/// A time column that may be NULL.
fn optional_time_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    match row.get_ref(index)? {
        ValueRef::Null => Ok(None),
        _ => time_at(row, index).map(Some),
    }
}

/// A time column: RFC 3339 text (how sqlx binds one), the same with a
/// space for the `T`, without an offset (UTC), or Unix seconds.
fn time_at(row: &Row<'_>, index: usize) -> rusqlite::Result<DateTime<Utc>> {
    let parsed = match row.get_ref(index)? {
        ValueRef::Text(text) => std::str::from_utf8(text).ok().and_then(parse_time),
        ValueRef::Integer(seconds) => DateTime::from_timestamp(seconds, 0),
        _ => None,
    };
    parsed.ok_or_else(|| bad_column(index, "a time"))
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z"))
        .map(|time| time.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                .iter()
                .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
                .map(|naive| naive.and_utc())
        })
}

fn bad_column(index: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        index,
        rusqlite::types::Type::Text,
        format!("column {index} is not {what}").into(),
    )
}

/// SQLite answered BUSY or LOCKED: another connection holds the file.
fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// The failure concerns the row or the statement, not the connection,
/// which stays usable.
fn is_about_the_row(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
    ) || is_busy(error)
}

/// The error in the terms the rest of the adapter classifies: a busy file
/// or one that cannot be read is "unavailable" (a retry may succeed),
/// anything else is unexpected.
fn into_sqlx(error: rusqlite::Error) -> sqlx::Error {
    let unavailable = is_busy(&error)
        || matches!(
            error.sqlite_error_code(),
            Some(
                ErrorCode::CannotOpen
                    | ErrorCode::SystemIoFailure
                    | ErrorCode::OutOfMemory
                    | ErrorCode::DiskFull
            )
        );
    if unavailable {
        sqlx::Error::Io(std::io::Error::other(error))
    } else {
        sqlx::Error::Decode(Box::new(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A database file with the two tables the look-up reads and one
    /// session of one user, written in the forms sqlx binds (UUIDs as
    /// blobs, times as RFC 3339 text); removed when dropped.
    struct Database(PathBuf);

    const DIGEST: &str = "d1";

    impl Database {
        fn new(journal_mode: &str) -> Self {
            let path = std::env::temp_dir().join(format!("direct-{}.db", Uuid::new_v4()));
            let db = Connection::open(&path).unwrap();
            db.pragma_update(None, "journal_mode", journal_mode)
                .unwrap();
            db.execute_batch(
                "CREATE TABLE users (seq INTEGER PRIMARY KEY, id BLOB, email TEXT, \
                   password_hash TEXT, first_name TEXT, last_name TEXT, created_at TEXT, \
                   updated_at TEXT, is_admin INTEGER);
                 CREATE TABLE sessions (token_digest TEXT PRIMARY KEY, id BLOB, user_id BLOB, \
                   created_at TEXT, updated_at TEXT, last_used_at TEXT, client_address TEXT, \
                   user_agent TEXT);",
            )
            .unwrap();
            let user = Uuid::from_u128(7);
            db.execute(
                "INSERT INTO users VALUES (1, ?1, 'bob@example.com', 'hash', 'Bob', NULL, \
                 '2026-12-05T13:14:15.123456+00:00', '2026-12-05T13:14:15+00:00', 1)",
                [user.as_bytes().as_slice()],
            )
            .unwrap();
            db.execute(
                "INSERT INTO sessions VALUES (?1, ?2, ?3, '2026-12-05T13:14:15+00:00', \
                 '2026-12-05T13:14:15+00:00', NULL, '127.0.0.1', NULL)",
                rusqlite::params![
                    DIGEST,
                    Uuid::from_u128(9).as_bytes().as_slice(),
                    user.as_bytes().as_slice()
                ],
            )
            .unwrap();
            Self(path)
        }

        fn lane(&self, timeout: Duration) -> SqliteLane {
            SqliteLane::new(self.0.clone(), 2, timeout)
        }

        /// Another connection holding the file exclusively (rollback
        /// journal, exclusive locking) until it is dropped.
        fn hold_exclusively(&self) -> Connection {
            let holder = Connection::open(&self.0).unwrap();
            holder
                .execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;")
                .unwrap();
            holder
        }
    }

    impl Drop for Database {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[tokio::test]
    async fn a_session_and_its_user_come_back_as_sqlx_wrote_them() {
        let db = Database::new("wal");
        let lane = db.lane(Duration::from_secs(1));
        let (session, user) = lane.session_with_user(DIGEST).await.unwrap().unwrap();
        assert_eq!(session.id, Uuid::from_u128(9));
        assert_eq!(session.client_address.as_deref(), Some("127.0.0.1"));
        assert_eq!(session.last_used_at, None);
        let user = user.unwrap();
        assert_eq!(
            (user.email.as_str(), user.is_admin),
            ("bob@example.com", true)
        );
        assert_eq!(user.created_at.timestamp_subsec_micros(), 123_456);
        assert!(lane.session_with_user("other").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_look_up_waits_for_a_writer_holding_the_file_then_answers() {
        let db = Database::new("delete");
        let lane = db.lane(Duration::from_secs(5));
        let holder = db.hold_exclusively();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            holder.execute_batch("COMMIT").unwrap();
            drop(holder);
        });
        let started = Instant::now();
        let found = lane.session_with_user(DIGEST).await.unwrap();
        assert!(found.is_some());
        assert!(started.elapsed() >= Duration::from_millis(250));
        release.join().unwrap();
    }

    #[tokio::test]
    async fn a_lock_held_past_the_timeout_is_unavailable_not_a_wrong_answer() {
        let db = Database::new("delete");
        let lane = db.lane(Duration::from_millis(200));
        let _holder = db.hold_exclusively();
        let error = lane.session_with_user(DIGEST).await.unwrap_err();
        assert!(matches!(error, sqlx::Error::Io(_)), "{error:?}");
    }

    #[test]
    fn times_in_every_form_sqlx_writes_or_reads_are_understood() {
        let expected = DateTime::parse_from_rfc3339("2026-12-05T13:14:15.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        for text in [
            "2026-12-05T13:14:15.123456+00:00",
            "2026-12-05T13:14:15.123456Z",
            "2026-12-05 13:14:15.123456+00:00",
            "2026-12-05 13:14:15.123456",
            "2026-12-05T14:14:15.123456+01:00",
        ] {
            assert_eq!(parse_time(text), Some(expected), "{text}");
        }
        assert_eq!(parse_time("yesterday"), None);
    }
}
