//! The fence: after a change committed, waiting until every other live
//! cache has heard of it (or has stopped answering).

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
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

/// A cache whose row was refreshed this recently is waited for by fences:
/// past [`SILENCE`] (a cache answers until [`SILENCE`] after a ping was
/// sent, and the row is refreshed by that same ping, later).
///
/// [`SILENCE`]: super::session_cache::SILENCE
pub(super) const LIVE_WITHIN: &str = "5 seconds";

/// The caches other than `except` that may be answering now.
async fn live_caches(db: &DatabaseConnection, except: Uuid) -> Result<HashSet<Uuid>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "SELECT id FROM session_cache_listeners \
                 WHERE seen_at > now() - interval '{LIVE_WITHIN}' AND id <> $1"
            ),
            [except.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| row.try_get::<Uuid>("", "id"))
        .collect()
}

/// After a change committed: returns once every live cache other than
/// `own` (whose process forgot the change itself) has heard it, or has
/// stopped answering. When `own` cannot hear the acknowledgements (no
/// cache, or its listener is down), a connection of `db`'s pool listens
/// for them meanwhile.
pub(crate) async fn fence(db: &DatabaseConnection, own: Option<&SessionCache>) {
    let me = own.map_or_else(Uuid::nil, SessionCache::id);
    let outcome = async {
        let live = live_caches(db, me).await?;
        if live.is_empty() {
            return Ok(true);
        }
        match own.filter(|cache| cache.trusted()) {
            Some(cache) => fence_through(cache, db, live).await,
            None => fence_alone(db, live).await,
        }
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

/// The fence, acknowledged to `cache`'s own listener.
async fn fence_through(
    cache: &SessionCache,
    db: &DatabaseConnection,
    live: HashSet<Uuid>,
) -> Result<bool, DbErr> {
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
    let outcome = match sent {
        Ok(_) => Ok(tokio::time::timeout(FENCE_WAIT, acknowledged)
            .await
            .is_ok_and(|r| r.is_ok())),
        Err(error) => Err(error),
    };
    cache
        .fences
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&number);
    outcome
}

/// The fence of a process without a listening cache (the CLI): one of its
/// pool's connections listens for the acknowledgements meanwhile.
async fn fence_alone(db: &DatabaseConnection, mut live: HashSet<Uuid>) -> Result<bool, DbErr> {
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
            return Ok(false);
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
    Ok(true)
}
