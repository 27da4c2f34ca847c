//! A cache's background tasks: the listener, which applies every
//! notification on the channel (and empties the cache when it loses its
//! connection), and the pinger, which proves the listener alive.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio::sync::watch;

use super::change::{CHANNEL, Change, notify};
use super::session_cache::SessionCache;

/// How often each cache pings the channel, proving its listener alive.
pub(super) const PING_EVERY: Duration = Duration::from_secs(1);

/// Wait before the listener connects again after losing its connection.
const RECONNECT_AFTER: Duration = Duration::from_millis(200);

impl SessionCache {
    /// A cache of at most `capacity` sessions, listening at `url` and
    /// pinging through `db`, until it is dropped.
    pub(crate) fn start(url: &str, db: DatabaseConnection, capacity: usize) -> Arc<Self> {
        let (cache, stopped) = Self::new(capacity);
        tokio::spawn(listen(
            Arc::downgrade(&cache),
            url.to_owned(),
            db.clone(),
            stopped.clone(),
        ));
        tokio::spawn(ping(Arc::downgrade(&cache), db, stopped));
        cache
    }
}

/// Listens on [`CHANNEL`] until the cache is dropped, applying every
/// notification; connects again after a loss.
async fn listen(
    cache: Weak<SessionCache>,
    url: String,
    db: DatabaseConnection,
    mut stopped: watch::Receiver<()>,
) {
    loop {
        let session = async {
            let mut listener = PgListener::connect(&url).await?;
            // A lost connection is reported (Ok(None)) before the listener
            // connects again, so the loss empties the cache first.
            listener.eager_reconnect(false);
            listener.listen(CHANNEL).await?;
            // Trusted as soon as its first ping comes back.
            if let Some(cache) = cache.upgrade() {
                send_ping(&cache, &db).await;
            }
            loop {
                let Some(notification) = listener.try_recv().await? else {
                    return Err(sea_orm::sqlx::Error::PoolClosed);
                };
                let Some(cache) = cache.upgrade() else {
                    return Ok(());
                };
                if let Some(answer) = cache.receive(&Change::parse(notification.payload())) {
                    let db = db.clone();
                    tokio::spawn(async move {
                        if let Err(error) = db.execute_raw(notify(answer)).await {
                            tracing::debug!(error = %error, "session cache: acknowledgement failed");
                        }
                    });
                }
            }
        };
        let outcome = tokio::select! {
            outcome = session => outcome,
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

/// Refreshes this cache's row in `session_cache_listeners` and notifies a
/// ping, in one statement: hearing it back proves both.
async fn send_ping(cache: &SessionCache, db: &DatabaseConnection) {
    // Rows of servers that stopped without removing theirs (killed) go
    // after an hour, so the fences' look-up stays a read of a few rows.
    let sql = format!(
        "WITH gone AS (DELETE FROM session_cache_listeners WHERE seen_at < now() - interval '1 hour'), \
         seen AS (INSERT INTO session_cache_listeners (id, seen_at) VALUES ($1, now()) \
         ON CONFLICT (id) DO UPDATE SET seen_at = now() RETURNING id) \
         SELECT pg_notify('{CHANNEL}', 'p' || id::text || ':' || $2) FROM seen"
    );
    let ping = Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [cache.id.into(), cache.now_ms().to_string().into()],
    );
    if let Err(error) = db.execute_raw(ping).await {
        tracing::debug!(error = %error, "session cache: ping failed");
    }
}

/// Pings every [`PING_EVERY`] until the cache is dropped; then removes its
/// row, so that no fence waits for it.
async fn ping(cache: Weak<SessionCache>, db: DatabaseConnection, mut stopped: watch::Receiver<()>) {
    let mut every = tokio::time::interval(PING_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let id = cache.upgrade().map(|cache| cache.id);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stopped.changed() => break,
        }
        let Some(cache) = cache.upgrade() else { break };
        send_ping(&cache, &db).await;
    }
    if let Some(id) = id {
        let _ = db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "DELETE FROM session_cache_listeners WHERE id = $1",
                [id.into()],
            ))
            .await;
    }
}
