//! The fence of the session caches on PostgreSQL, against a stand-in
//! cache this test controls (a row in `session_cache_listeners` and a
//! listener that acknowledges fences, or not): every ending operation
//! waits for every live cache, whether it deleted rows or not; which
//! caches count as live does not depend on any clock of the database; a
//! cache that stopped pinging costs one fence's wait, then none.
//! Compiled in only when `TEST_DATABASE_URL` is set.
#![cfg(postgres_tests)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use adapter_seaorm::SqlStore;
use domain::{SessionRepository, UserRepository};
use integration_tests::sql_database::{TestDatabase, user_with_session};

const CHANNEL: &str = "session_auth_changes";

/// A cache as the servers keep one, reduced to its part in a fence: a row
/// in `session_cache_listeners`, and (when `acknowledging`) a listener
/// that counts each fence it hears and only then acknowledges it.
struct StandIn {
    id: Uuid,
    acknowledged: Arc<AtomicUsize>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl StandIn {
    async fn register(db: &TestDatabase, store: &SqlStore, acknowledging: bool) -> Self {
        let id = Uuid::new_v4();
        let acknowledged = Arc::new(AtomicUsize::new(0));
        let task = if acknowledging {
            let mut listener = PgListener::connect(&db.url).await.expect("listen");
            listener.listen(CHANNEL).await.expect("LISTEN");
            let count = acknowledged.clone();
            let url = db.url.clone();
            Some(tokio::spawn(async move {
                let pool = sea_orm::sqlx::PgPool::connect(&url).await.expect("a pool");
                loop {
                    let Ok(notification) = listener.recv().await else {
                        return;
                    };
                    let payload = notification.payload();
                    let Some(fence) = payload.strip_prefix('f') else {
                        continue;
                    };
                    // Heard: counted before the acknowledgement leaves.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    count.fetch_add(1, Ordering::SeqCst);
                    sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(CHANNEL)
                        .bind(format!("a{fence}:{id}"))
                        .execute(&pool)
                        .await
                        .expect("acknowledge");
                }
            }))
        } else {
            None
        };
        store
            .connection()
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO session_cache_listeners (id, seen_at, seq) VALUES ($1, now(), 1)",
                [id.into()],
            ))
            .await
            .expect("register the stand-in");
        Self {
            id,
            acknowledged,
            task,
        }
    }

    fn acknowledged(&self) -> usize {
        self.acknowledged.load(Ordering::SeqCst)
    }

    async fn listed(&self, store: &SqlStore) -> bool {
        !store
            .connection()
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT 1 AS one FROM session_cache_listeners WHERE id = $1",
                [self.id.into()],
            ))
            .await
            .expect("read the listeners")
            .is_empty()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Hole 1 of issue 18: a second revocation finds nothing to delete (the
/// first one did), yet it must not return before every live cache has
/// heard the first one's change, or the caller is told the sessions are
/// gone while a cache still answers them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ending_operation_that_deletes_nothing_still_waits_for_every_cache() {
    let db = TestDatabase::postgres().await;
    let store = db.store().await;
    let (user, session) = user_with_session(&store, "t-second").await;
    let cache = StandIn::register(&db, &store, true).await;

    assert_eq!(
        store.delete_by_user(&user.id, None).await.expect("revoke"),
        1
    );
    let after_first = cache.acknowledged();
    assert!(
        after_first >= 1,
        "the first revocation waited for the cache"
    );

    // The second one (a retried CLI run, a retried logout, a session
    // already swept): nothing to delete, same wait.
    assert_eq!(
        store.delete_by_user(&user.id, None).await.expect("again"),
        0
    );
    assert!(
        cache.acknowledged() > after_first,
        "a revocation that deleted nothing returned before the cache heard"
    );
    let before = cache.acknowledged();
    assert!(
        !SessionRepository::delete(&store, &session.key)
            .await
            .expect("logout again")
    );
    assert!(cache.acknowledged() > before, "a repeated logout");
    assert!(
        UserRepository::delete(&store, &user.id)
            .await
            .expect("delete")
    );
    let before = cache.acknowledged();
    assert!(
        !UserRepository::delete(&store, &user.id)
            .await
            .expect("gone")
    );
    assert!(cache.acknowledged() > before, "a repeated user deletion");
    let before = cache.acknowledged();
    assert_eq!(
        store
            .delete_expired(Some(integration_tests::sql_database::noon(1)), None)
            .await
            .expect("sweep"),
        0
    );
    assert!(cache.acknowledged() > before, "a sweep that found nothing");
}

/// Hole 2 of issue 18: which caches are waited for must not follow the
/// database's clock. Rows aged by an hour (as after a forward step of the
/// server's clock) still count: their caches may be answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_of_the_database_clock_does_not_drop_a_live_cache_from_the_fence() {
    let db = TestDatabase::postgres().await;
    let store = db.store().await;
    let (user, _) = user_with_session(&store, "t-clock").await;
    let cache = StandIn::register(&db, &store, true).await;
    store
        .connection()
        .execute_unprepared(
            "UPDATE session_cache_listeners SET seen_at = now() - interval '1 hour'",
        )
        .await
        .expect("age the rows");
    assert_eq!(
        store.delete_by_user(&user.id, None).await.expect("revoke"),
        1
    );
    assert!(
        cache.acknowledged() >= 1,
        "the revocation returned without waiting for a cache whose row looked old"
    );
    assert!(
        cache.listed(&store).await,
        "an answering cache stays listed"
    );
}

/// A cache that neither acknowledges nor pings (killed, or cut off) costs
/// the first fence its wait, and is then no longer listed: the next
/// changes do not wait for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_that_stopped_pinging_is_dropped_after_one_fence() {
    let db = TestDatabase::postgres().await;
    let store = db.store().await;
    let (user, _) = user_with_session(&store, "t-dead").await;
    let dead = StandIn::register(&db, &store, false).await;
    let alive = StandIn::register(&db, &store, true).await;
    assert_eq!(
        store.delete_by_user(&user.id, None).await.expect("revoke"),
        1
    );
    assert!(!dead.listed(&store).await, "the silent cache was dropped");
    assert!(alive.listed(&store).await, "the answering one was kept");
    assert!(alive.acknowledged() >= 1);
}
