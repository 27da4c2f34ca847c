//! The look-up of every session-authenticated request (the session joined
//! with its user), on connections of its own, as one prepared statement
//! and one round trip (on SQLite, see `direct_sqlite`).
//!
//! Through SeaORM each request paid for more than its query: sqlx's pool
//! pings a connection when it hands it out (SeaORM's default) and always
//! when it takes it back, so one statement was three round trips (on
//! SQLite three trips to the connection's worker thread); and SeaORM
//! rebuilt the same SQL text and decoded the row by column name each time.
//! Here the statement text is a constant (sqlx prepares it once per
//! connection and keeps it), the row is decoded by position, and the
//! connections are kept in a plain free list without pings: a connection
//! that fails (the database went away) is dropped and the next request
//! opens a new one, so the service recovers by itself.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::sqlx::{
    self, Connection, PgConnection, Row, postgres::PgConnectOptions, sqlite::SqliteConnectOptions,
};
use tokio::sync::{Semaphore, SemaphorePermit};
use uuid::Uuid;

use crate::direct_sqlite::{SESSION_WITH_USER_SQLITE, SqliteLane};
use crate::entity::{session, user};
use crate::options::IDLE_BEFORE_PING;

/// The session with this digest and its user (absent when the user is
/// gone). `$1`: the digest, as text (the type of `token_digest`).
const SESSION_WITH_USER_PG: &str = "SELECT s.token_digest, s.id, s.user_id, s.created_at, \
     s.updated_at, s.last_used_at, s.client_address, s.user_agent, u.seq, u.id, u.email, \
     u.password_hash, u.first_name, u.last_name, u.created_at, u.updated_at, u.is_admin \
     FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.token_digest = $1";

/// A session row and its user row, if any.
pub(crate) type SessionAndUser = (session::Model, Option<user::Model>);

/// Connections for the per-request look-up, of one engine.
pub(crate) enum Direct {
    /// PostgreSQL.
    Postgres(Box<Lane<PgConnection>>),
    /// SQLite, called on the request's thread.
    Sqlite(SqliteLane),
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (engine, size) = match self {
            Direct::Postgres(lane) => ("postgres", lane.size),
            Direct::Sqlite(lane) => ("sqlite", lane.size),
        };
        write!(f, "Direct {{ engine: {engine}, connections: {size} }}")
    }
}

impl Direct {
    /// Connections to the database of `url` (opened when first needed), at
    /// most `size` at once; `timeout` bounds the wait for one, its opening
    /// and each statement.
    ///
    /// # Errors
    /// The URL does not parse as a PostgreSQL or SQLite URL.
    pub(crate) fn new(url: &str, size: u32, timeout: Duration) -> Result<Self, sqlx::Error> {
        use sqlx::ConnectOptions as _;
        if url.starts_with("sqlite:") {
            let options: SqliteConnectOptions = url.parse()?;
            Ok(Direct::Sqlite(SqliteLane::new(
                options.get_filename().to_path_buf(),
                size,
                timeout,
            )))
        } else {
            // The URL's parameters (sslmode, sslrootcert, …) are sqlx's
            // reading of libpq's, the same as the pool's.
            let options: PgConnectOptions = url.parse()?;
            Ok(Direct::Postgres(Box::new(Lane::new(
                options.disable_statement_logging(),
                size,
                timeout,
            ))))
        }
    }

    /// The SQL of [`Direct::session_with_user`] on this engine.
    pub(crate) fn session_with_user_sql(&self) -> &'static str {
        match self {
            Direct::Postgres(_) => SESSION_WITH_USER_PG,
            Direct::Sqlite(_) => SESSION_WITH_USER_SQLITE,
        }
    }

    /// The session stored under `digest`, with its user.
    ///
    /// # Errors
    /// The statement failed; a failure of the connection (or a timeout)
    /// also drops that connection.
    pub(crate) async fn session_with_user(
        &self,
        digest: &str,
    ) -> Result<Option<SessionAndUser>, sqlx::Error> {
        match self {
            Direct::Postgres(lane) => {
                let (mut connection, permit) = lane.checkout().await?;
                let query = sqlx::query(SESSION_WITH_USER_PG)
                    .bind(digest)
                    .fetch_optional(&mut connection);
                let outcome = tokio::time::timeout(lane.timeout, query).await;
                let row = lane.settle(connection, permit, outcome)?;
                row.map(|row| decode!(row)).transpose()
            }
            Direct::Sqlite(lane) => lane.session_with_user(digest).await,
        }
    }
}

/// Decodes a row of `SESSION_WITH_USER_PG` by position.
macro_rules! decode {
    ($row:expr) => {{
        let row = $row;
        (|| -> Result<SessionAndUser, sqlx::Error> {
            let session = session::Model {
                token_digest: row.try_get(0)?,
                id: row.try_get(1)?,
                user_id: row.try_get(2)?,
                created_at: row.try_get(3)?,
                updated_at: row.try_get(4)?,
                last_used_at: row.try_get(5)?,
                client_address: row.try_get(6)?,
                user_agent: row.try_get(7)?,
            };
            let seq: Option<i64> = row.try_get(8)?;
            let id: Option<Uuid> = row.try_get(9)?;
            let email: Option<String> = row.try_get(10)?;
            let created_at: Option<DateTime<Utc>> = row.try_get(14)?;
            let updated_at: Option<DateTime<Utc>> = row.try_get(15)?;
            let is_admin: Option<bool> = row.try_get(16)?;
            let user = match (seq, id, email, created_at, updated_at, is_admin) {
                (
                    Some(seq),
                    Some(id),
                    Some(email),
                    Some(created_at),
                    Some(updated_at),
                    Some(is_admin),
                ) => Some(user::Model {
                    seq,
                    id,
                    email,
                    password_hash: row.try_get(11)?,
                    first_name: row.try_get(12)?,
                    last_name: row.try_get(13)?,
                    created_at,
                    updated_at,
                    is_admin,
                }),
                // The left join found no user: they were deleted.
                _ => None,
            };
            Ok((session, user))
        })()
    }};
}
use decode;

/// At most `size` connections of one kind, kept in a free list.
pub(crate) struct Lane<C: Connection> {
    options: <C as Connection>::Options,
    idle: Mutex<Vec<(C, Instant)>>,
    permits: Semaphore,
    size: u32,
    timeout: Duration,
}

impl<C: Connection> Lane<C> {
    fn new(options: <C as Connection>::Options, size: u32, timeout: Duration) -> Self {
        let size = size.max(1);
        Self {
            options,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size as usize),
            size,
            timeout,
        }
    }

    /// A connection (an idle one, or a new one when none is idle) and the
    /// permit that counts it. Hand it back with [`Lane::settle`]; if the
    /// caller is cancelled before, the connection is closed, not reused
    /// (its state mid-statement is unknown).
    async fn checkout(&self) -> Result<(C, SemaphorePermit<'_>), sqlx::Error> {
        let permit = tokio::time::timeout(self.timeout, self.permits.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        if let Some((mut connection, since)) = idle {
            // A connection idle for long may have been closed by the server
            // or a firewall meanwhile: check it (one round trip, only
            // after idleness) rather than fail the request that finds it.
            if since.elapsed() < IDLE_BEFORE_PING
                || tokio::time::timeout(self.timeout, connection.ping())
                    .await
                    .is_ok_and(|pinged| pinged.is_ok())
            {
                return Ok((connection, permit));
            }
        }
        let connection = tokio::time::timeout(self.timeout, C::connect_with(&self.options))
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)??;
        Ok((connection, permit))
    }

    /// The outcome of a statement run on `connection` within the lane's
    /// timeout; the connection goes back to the free list unless it failed
    /// (a failure the database reported about the statement leaves it
    /// usable; anything else, a timeout included, drops it).
    fn settle<T>(
        &self,
        connection: C,
        permit: SemaphorePermit<'_>,
        outcome: Result<Result<T, sqlx::Error>, tokio::time::error::Elapsed>,
    ) -> Result<T, sqlx::Error> {
        let outcome =
            outcome.unwrap_or_else(|_| Err(sqlx::Error::Io(std::io::ErrorKind::TimedOut.into())));
        if outcome.is_ok() || matches!(outcome, Err(sqlx::Error::Database(_))) {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((connection, Instant::now()));
        }
        drop(permit);
        outcome
    }
}
