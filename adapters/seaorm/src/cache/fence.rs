//! The fence: after a change committed, waiting until every other live
//! cache has heard of it (or has stopped answering).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use sea_orm::sqlx::{
    self,
    postgres::{PgListener, PgPool},
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::change::{CHANNEL, Change, notify};
use super::session_cache::{SessionCache, Waiting};

/// How long a fence waits for a cache's acknowledgement: past [`SILENCE`],
/// so a cache that has not acknowledged has stopped answering.
///
/// [`SILENCE`]: super::session_cache::SILENCE
pub(super) const FENCE_WAIT: Duration = Duration::from_millis(3_500);

/// The caches other than `except` that may be answering now: every row
/// of `session_cache_listeners` (a row goes only when its cache gave it
/// up, or was seen stalled; see [`forget_stalled`]), with its ping number.
async fn live_caches(db: &DatabaseConnection, except: Uuid) -> Result<HashMap<Uuid, i64>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id, seq FROM session_cache_listeners WHERE id <> $1",
            [except.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<Uuid>("", "id")?,
                row.try_get::<i64>("", "seq")?,
            ))
        })
        .collect()
}

/// Removes the rows of caches whose ping number was read at least
/// [`FENCE_WAIT`] ago (on the remover's clock) and is still the same: such
/// a cache has sent no ping that committed since, so it stopped answering
/// [`SILENCE`] after its last one at the latest, and answers again only
/// after a new ping, which puts its row back. No wall clock is trusted.
///
/// [`SILENCE`]: super::session_cache::SILENCE
pub(super) async fn forget_stalled(pool: &PgPool, stalled: &[(Uuid, i64)]) {
    for (id, seq) in stalled {
        let removed = tokio::time::timeout(
            FENCE_WAIT,
            sqlx::query("DELETE FROM session_cache_listeners WHERE id = $1 AND seq = $2")
                .bind(id)
                .bind(seq)
                .execute(pool),
        )
        .await;
        if let Ok(Ok(done)) = removed
            && done.rows_affected() > 0
        {
            tracing::warn!(cache = %id, "session cache: another cache stopped pinging; no longer waited for");
        }
    }
}

/// After a change committed (or after a statement found it already made:
/// an ending operation fences whether it changed rows or not): returns
/// once every live cache other than `own` (whose process forgot the change
/// itself) has heard it, or has stopped answering. When `own` cannot hear
/// the acknowledgements (no cache, or its listener is down), a connection
/// of `db`'s pool listens for them meanwhile. The caches that did not
/// answer and whose ping number stood still meanwhile are removed from
/// the live list, so they cost one wait, not one per change.
pub(crate) async fn fence(db: &DatabaseConnection, own: Option<&SessionCache>) {
    let me = own.map_or_else(Uuid::nil, SessionCache::id);
    let outcome = async {
        let numbers = live_caches(db, me).await?;
        if numbers.is_empty() {
            return Ok(true);
        }
        let live = numbers.keys().copied().collect();
        let silent = match own.filter(|cache| cache.trusted()) {
            Some(cache) => fence_through(cache, db, live).await?,
            None => fence_alone(db, live).await?,
        };
        if silent.is_empty() {
            return Ok(true);
        }
        let stalled: Vec<(Uuid, i64)> = silent
            .iter()
            .filter_map(|id| numbers.get(id).map(|seq| (*id, *seq)))
            .collect();
        forget_stalled(db.get_postgres_connection_pool(), &stalled).await;
        Ok(false)
    };
    // Bounded as a whole (a listener's connection may hang): past the
    // bound, as when the caches could not be asked.
    let outcome = tokio::time::timeout(FENCE_WAIT * 2, outcome)
        .await
        .unwrap_or_else(|_| Err(DbErr::Custom("the fence took too long".to_owned())));
    match outcome {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            "session cache: a cache did not acknowledge a change within {FENCE_WAIT:?}; it has stopped answering by now"
        ),
        Err(error) => {
            // Whether any cache heard the change is unknown: wait until
            // any that did not has stopped answering.
            tracing::warn!(error = %error, "session cache: could not confirm a change with the other caches; waiting them out");
            tokio::time::sleep(FENCE_WAIT).await;
        }
    }
}

/// The fence, acknowledged to `cache`'s own listener; the caches that did
/// not acknowledge it within [`FENCE_WAIT`].
async fn fence_through(
    cache: &SessionCache,
    db: &DatabaseConnection,
    live: HashSet<Uuid>,
) -> Result<HashSet<Uuid>, DbErr> {
    let number = cache.next_fence.fetch_add(1, Ordering::Relaxed);
    let (done, acknowledged) = oneshot::channel();
    cache
        .fences
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(
            number,
            Waiting {
                pending: live,
                done: Some(done),
            },
        );
    let sent = db
        .execute_raw(notify(format!("f{}:{number}", cache.id)))
        .await;
    if sent.is_ok() {
        let _ = tokio::time::timeout(FENCE_WAIT, acknowledged).await;
    }
    let waiting = cache
        .fences
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&number);
    sent?;
    Ok(waiting.map(|w| w.pending).unwrap_or_default())
}

/// The fence of a process without a listening cache (the CLI): one of its
/// pool's connections listens for the acknowledgements meanwhile; the
/// caches that did not acknowledge within [`FENCE_WAIT`].
async fn fence_alone(
    db: &DatabaseConnection,
    mut live: HashSet<Uuid>,
) -> Result<HashSet<Uuid>, DbErr> {
    let sqlx_error = |e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(Arc::new(e)));
    let origin = Uuid::new_v4();
    let mut listener = PgListener::connect_with(db.get_postgres_connection_pool())
        .await
        .map_err(sqlx_error)?;
    listener.listen(CHANNEL).await.map_err(sqlx_error)?;
    db.execute_raw(notify(format!("f{origin}:0"))).await?;
    let deadline = tokio::time::Instant::now() + FENCE_WAIT;
    while !live.is_empty() {
        let Ok(received) = tokio::time::timeout_at(deadline, listener.try_recv()).await else {
            return Ok(live);
        };
        let Some(notification) = received.map_err(sqlx_error)? else {
            return Err(sqlx_error(sea_orm::sqlx::Error::PoolClosed));
        };
        if let Change::Ack {
            origin: to, from, ..
        } = Change::parse(notification.payload())
            && to == origin
        {
            live.remove(&from);
        }
    }
    Ok(live)
}
