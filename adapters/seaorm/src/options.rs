//! How to reach the database: the settings a caller gives (every one of
//! them: the defaults are the command line's, in `app`), and the
//! connections' fixed checking policy.

use std::time::Duration;

/// How long a connection may sit idle before it is checked at its next use.
pub(crate) const IDLE_BEFORE_PING: Duration = Duration::from_secs(30);

/// How to reach the database. A plain set of values with no defaults of
/// its own: the caller gives each one.
#[derive(Clone, Debug)]
pub struct SqlOptions {
    /// `postgres://…` or `sqlite://path?mode=rwc`.
    pub url: String,
    /// Most connections the pool holds.
    pub pool_size: u32,
    /// How long a request waits for a connection before it is answered 503.
    pub acquire_timeout: Duration,
    /// How long one statement may run (PostgreSQL `statement_timeout`;
    /// SQLite's busy timeout) before it is abandoned and answered 503, so
    /// a blocked statement frees its connection.
    pub statement_timeout: Duration,
    /// Most sessions the server keeps in memory on PostgreSQL, kept true by
    /// the database's change notifications (`SESSION_CACHE_SIZE`); 0: no
    /// cache. SQLite keeps none whatever this says.
    pub session_cache: usize,
}
