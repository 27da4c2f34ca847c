//! A cache's background tasks, on connections of their own (never the
//! request pool): the listener, which applies every notification on the
//! channel (and empties the cache when it loses or drops its connection),
//! and the pinger, which proves the listener alive, gives up the cache's
//! row when the listener goes deaf, and removes the rows of caches that
//! stopped pinging.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use sea_orm::sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sea_orm::sqlx::{self, ConnectOptions as _, Row as _};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use super::change::{CHANNEL, Change};
use super::clock;
use super::fence::{FENCE_WAIT, forget_stalled};
use super::session_cache::{SILENCE, SessionCache};

/// How often each cache pings the channel, proving its listener alive.
pub(super) const PING_EVERY: Duration = Duration::from_secs(1);

/// Wait before the listener connects again after losing its connection.
const RECONNECT_AFTER: Duration = Duration::from_millis(200);

/// Connections of the cache's own pool (pings, acknowledgements, the
/// removal of stalled rows); the listener has one more of its own.
const OWN_CONNECTIONS: u32 = 2;

/// Bound of each statement of the cache's own (a ping, an
/// acknowledgement): a statement stuck on a frozen link is given up.
const STATEMENT_WAIT: Duration = Duration::from_secs(1);

impl SessionCache {
    /// A cache of at most `capacity` sessions, listening, pinging and
    /// acknowledging on its own connections to `url`, until it is dropped.
    ///
    /// # Errors
    /// `url` does not parse as a PostgreSQL URL.
    pub(crate) fn start(url: &str, capacity: usize) -> Result<Arc<Self>, sqlx::Error> {
        let statement_wait = STATEMENT_WAIT.as_millis().to_string();
        let options: PgConnectOptions = url
            .parse::<PgConnectOptions>()?
            .options([("statement_timeout", statement_wait.as_str())])
            .disable_statement_logging();
        let own = PgPoolOptions::new()
            .max_connections(OWN_CONNECTIONS)
            .min_connections(0)
            .acquire_timeout(STATEMENT_WAIT)
            .test_before_acquire(false)
            .connect_lazy_with(options);
        let (cache, stopped) = Self::new(capacity);
        let reconnect = Arc::new(Notify::new());
        tokio::spawn(listen(
            Arc::downgrade(&cache),
            url.to_owned(),
            own.clone(),
            reconnect.clone(),
            stopped.clone(),
        ));
        tokio::spawn(ping(Arc::downgrade(&cache), own, reconnect, stopped));
        Ok(cache)
    }
}

/// Runs `statement` on the cache's own pool within [`STATEMENT_WAIT`].
async fn run_bounded(
    own: &PgPool,
    statement: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
) -> Result<u64, sqlx::Error> {
    match tokio::time::timeout(STATEMENT_WAIT, statement.execute(own)).await {
        Ok(done) => done.map(|d| d.rows_affected()),
        Err(_) => Err(sqlx::Error::PoolTimedOut),
    }
}

/// Listens on [`CHANNEL`] until the cache is dropped, applying every
/// notification; connects again after a loss, or when the pinger finds
/// the listener deaf (`reconnect`).
async fn listen(
    cache: Weak<SessionCache>,
    url: String,
    own: PgPool,
    reconnect: Arc<Notify>,
    mut stopped: watch::Receiver<()>,
) {
    loop {
        let session = async {
            let mut listener = PgListener::connect(&url).await?;
            // A lost connection is reported (Ok(None)) before the listener
            // connects again, so the loss empties the cache first.
            listener.eager_reconnect(false);
            listener.listen(CHANNEL).await?;
            loop {
                let Some(notification) = listener.try_recv().await? else {
                    return Err(sqlx::Error::PoolClosed);
                };
                let Some(cache) = cache.upgrade() else {
                    return Ok(());
                };
                if let Some(answer) = cache.receive(&Change::parse(notification.payload())) {
                    let own = own.clone();
                    tokio::spawn(async move {
                        let ack = sqlx::query("SELECT pg_notify($1, $2)")
                            .bind(CHANNEL)
                            .bind(answer);
                        if let Err(error) = run_bounded(&own, ack).await {
                            tracing::debug!(error = %error, "session cache: acknowledgement failed");
                        }
                    });
                }
            }
        };
        let outcome = tokio::select! {
            outcome = session => outcome,
            () = reconnect.notified() => Err(sqlx::Error::Protocol(
                "the listener did not hear this cache's own pings".to_owned(),
            )),
            _ = stopped.changed() => return,
        };
        match cache.upgrade() {
            Some(cache) => cache.lost(),
            None => return,
        }
        if let Err(error) = outcome {
            tracing::warn!(error = %error, "session cache: change notifications lost; cache emptied, reconnecting");
        }
        tokio::select! {
            () = tokio::time::sleep(RECONNECT_AFTER) => {}
            _ = stopped.changed() => return,
        }
    }
}

/// Sets this cache's row in `session_cache_listeners` to ping number `seq`
/// and notifies the ping, in one statement: hearing it back proves both.
/// The number never goes back (a late ping cannot undo a newer one).
async fn send_ping(own: &PgPool, id: Uuid, seq: u64) -> Result<u64, sqlx::Error> {
    const PING: &str = "WITH seen AS (INSERT INTO session_cache_listeners (id, seen_at, seq) \
         VALUES ($1, now(), $3) ON CONFLICT (id) DO UPDATE SET seen_at = now(), \
         seq = GREATEST(session_cache_listeners.seq, EXCLUDED.seq) RETURNING id) \
         SELECT pg_notify($4, 'p' || id::text || ':' || $2 || ':' || $3) FROM seen";
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    let statement = sqlx::query(PING)
        .bind(id)
        .bind(clock::now_ms().to_string())
        .bind(seq)
        .bind(CHANNEL);
    run_bounded(own, statement).await
}

/// Notifies a probe, touching no row: hearing it shows the listener hears.
async fn send_probe(own: &PgPool, id: Uuid) -> Result<u64, sqlx::Error> {
    let statement = sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(format!("q{id}"));
    run_bounded(own, statement).await
}

/// Removes this cache's row if its number is still `seq` (a later ping
/// keeps it).
async fn remove_own_row(own: &PgPool, id: Uuid, seq: u64) -> Result<u64, sqlx::Error> {
    let statement = sqlx::query("DELETE FROM session_cache_listeners WHERE id = $1 AND seq = $2")
        .bind(id)
        .bind(i64::try_from(seq).unwrap_or(i64::MAX));
    run_bounded(own, statement).await
}

/// What the pinger is doing.
enum Mode {
    /// Refreshing the cache's row with numbered pings.
    Pinging,
    /// Notifying probes only, the row given up, until the listener hears.
    Probing,
}

/// Every [`PING_EVERY`] until the cache is dropped: pings while the
/// listener hears (and, past [`SILENCE`] without a ping heard back, gives
/// up the row and has the listener reconnect); probes while it does not;
/// and removes the rows of other caches stalled for a fence's wait. Then
/// removes its row, so that no fence waits for it.
async fn ping(
    cache: Weak<SessionCache>,
    own: PgPool,
    reconnect: Arc<Notify>,
    mut stopped: watch::Receiver<()>,
) {
    let mut every = tokio::time::interval(PING_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let Some(id) = cache.upgrade().map(|cache| cache.id) else {
        return;
    };
    let silence_ms = u64::try_from(SILENCE.as_millis()).unwrap_or(u64::MAX);
    let mut mode = Mode::Probing;
    let mut since = clock::now_ms();
    let mut seq: u64 = 0;
    let mut others = Stalls::default();
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stopped.changed() => break,
        }
        let Some(cache) = cache.upgrade() else { break };
        let now = clock::now_ms();
        let hearing = cache.hearing.load(Ordering::Acquire);
        match mode {
            Mode::Probing if hearing => {
                mode = Mode::Pinging;
                since = now;
            }
            Mode::Probing if now.saturating_sub(since) >= silence_ms => {
                // Still deaf: another connection may hear.
                reconnect.notify_one();
                since = now;
            }
            Mode::Pinging if !cache.trusted() && now.saturating_sub(since) >= silence_ms => {
                // Deaf (or cut off): stop counting as live, so that other
                // processes' changes stop waiting for this cache, and
                // listen on a new connection.
                cache.give_up(seq + 1);
                if let Err(error) = remove_own_row(&own, id, seq).await {
                    tracing::debug!(error = %error, "session cache: could not give up its row");
                }
                tracing::warn!(
                    "session cache: its own pings were not heard back for {SILENCE:?}; not answering, reconnecting the listener"
                );
                reconnect.notify_one();
                mode = Mode::Probing;
                since = now;
            }
            _ => {}
        }
        let sent = match mode {
            Mode::Pinging => {
                seq += 1;
                send_ping(&own, id, seq).await
            }
            Mode::Probing => send_probe(&own, id).await,
        };
        if let Err(error) = sent {
            tracing::debug!(error = %error, "session cache: ping failed");
        }
        drop(cache);
        others.sweep(&own, id).await;
    }
    let _ = run_bounded(
        &own,
        sqlx::query("DELETE FROM session_cache_listeners WHERE id = $1").bind(id),
    )
    .await;
}

/// The other caches' ping numbers, each with the boot clock's time it was
/// first seen at.
#[derive(Default)]
struct Stalls(HashMap<Uuid, (i64, u64)>);

impl Stalls {
    /// Reads the other caches' numbers; removes the rows whose number has
    /// not moved for [`FENCE_WAIT`] (those caches stopped answering).
    async fn sweep(&mut self, own: &PgPool, me: Uuid) {
        let read = tokio::time::timeout(
            STATEMENT_WAIT,
            sqlx::query("SELECT id, seq FROM session_cache_listeners WHERE id <> $1")
                .bind(me)
                .fetch_all(own),
        )
        .await;
        let Ok(Ok(rows)) = read else { return };
        let now = clock::now_ms();
        let wait = u64::try_from(FENCE_WAIT.as_millis()).unwrap_or(u64::MAX);
        let mut seen = HashMap::with_capacity(rows.len());
        let mut stalled = Vec::new();
        for row in rows {
            let (Ok(id), Ok(seq)) = (row.try_get::<Uuid, _>("id"), row.try_get::<i64, _>("seq"))
            else {
                continue;
            };
            let since = match self.0.get(&id) {
                Some(&(old, since)) if old == seq => since,
                _ => now,
            };
            if now.saturating_sub(since) >= wait {
                stalled.push((id, seq));
            }
            seen.insert(id, (seq, since));
        }
        self.0 = seen;
        forget_stalled(own, &stalled).await;
    }
}
