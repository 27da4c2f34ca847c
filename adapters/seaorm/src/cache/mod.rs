//! The server's cache of sessions and their users, on PostgreSQL, kept true
//! by the database's change notifications.
//!
//! The rule it serves: a change (logout, revoked session, deleted user,
//! new password or names), made by this instance, another one or the CLI,
//! is seen by the very next request on every instance. So:
//!
//! - **Everyone's changes are announced**: triggers (migration
//!   `m20261220_000007_change_notifications`) notify the channel
//!   `session_auth_changes` when a change commits; each cache's listener
//!   forgets what they name.
//! - **A change is answered only once every cache has heard it** (the
//!   fence, [`fence()`]): the process that made it (a server, or the CLI)
//!   notifies a fence `f<its id>:<n>` after its commit and waits until every
//!   live cache has acknowledged it (`a<its id>:<n>:<cache id>`). The
//!   channel delivers in commit order, so a cache that saw the fence has
//!   already forgotten what the change named. Every ending operation
//!   fences, whether it changed rows or not. The live caches are the rows
//!   of `session_cache_listeners`; when there is none, the fence costs that
//!   one query. Its own cache forgets synchronously. Touches are not
//!   fenced.
//! - **No word, no cache**: a cache answers only until [`SILENCE`] after
//!   sending the last of its own pings it has heard back, on the boot
//!   clock (`clock`). Each ping sets its row's sequence number and
//!   notifies, in one statement, every [`PING_EVERY`], on the cache's own
//!   connections; a dropped listener connection empties it.
//! - **No clock of the database**: a row is removed only when its number
//!   stood still for [`FENCE_WAIT`] on the remover's clock (a fence that
//!   was not acknowledged, or any cache's once-a-second look), or by its
//!   cache when it has not heard its own ping for [`SILENCE`]: it then
//!   ignores its earlier pings, reconnects its listener and probes without
//!   a row until it hears again.
//! - **A look-up that raced a change is not cached**: every change bumps
//!   an epoch, and a row read from the database is kept only if the epoch
//!   is still the one seen before the read.
//! - **Bounded**: at most the configured number of entries
//!   (`SESSION_CACHE_SIZE`); when full, an arbitrary entry makes room.
//!   Absent sessions and sessions of deleted users are never kept.
//!
//! Its files, each importing only from those listed before it: `change`
//! (what a notification says, and sending one), `clock` (the boot clock),
//! `entries` (the sessions
//! held, by digest and by user), `session_cache` (the cache: look-ups,
//! keeping, forgetting, trust), `fence` (waiting for the other caches
//! after a change) and `listener` (the cache's listener and pinger).
//!
//! [`FENCE_WAIT`]: fence::FENCE_WAIT
//! [`PING_EVERY`]: listener::PING_EVERY
//! [`SILENCE`]: session_cache::SILENCE

mod change;
mod clock;
mod entries;
mod fence;
mod listener;
mod session_cache;
#[cfg(test)]
mod tests;

pub(crate) use change::Change;
pub(crate) use fence::fence;
pub(crate) use session_cache::{Lookup, SessionCache};
