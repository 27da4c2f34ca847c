//! The server's session cache on PostgreSQL (`SESSION_CACHE_SIZE`): a known
//! session is answered without a statement; a change made through a store
//! (this process, another instance, the CLI) is seen by the very next
//! look-up; SQL by hand as soon as its notification arrives; and a lost
//! notification connection empties the cache.
//! Compiled in only when `TEST_DATABASE_URL` is set.
#![cfg(postgres_tests)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;

use adapter_seaorm::SqlStore;
use domain::{
    NameChange, PasswordHash, Session, SessionKey, SessionRepository, User, UserRepository,
};
use integration_tests::sql_database::{TestDatabase, noon, session_for, user_with_session};

/// How long another process's change may take to reach the cache: the
/// notification's trip, far less in practice (the tests print it).
const NOTIFICATION_BOUND: Duration = Duration::from_secs(2);

type Found = Option<(Session, Option<User>)>;

/// A store with a session cache, counting the look-ups that reached the
/// database.
struct Cached {
    store: SqlStore,
    lookups: Arc<AtomicUsize>,
}

impl Cached {
    async fn new(db: &TestDatabase) -> Self {
        let mut store = db.cached_store(1_000).await;
        let lookups = Arc::new(AtomicUsize::new(0));
        let counter = lookups.clone();
        store.observe_statements(move |sql| {
            if sql.contains("LEFT JOIN users") {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        Self { store, lookups }
    }

    /// The session under `key` and whether the database was asked.
    async fn find(&self, key: &SessionKey) -> (Found, bool) {
        let before = self.lookups.load(Ordering::SeqCst);
        let found = self
            .store
            .find_with_user(key, &self.store)
            .await
            .expect("look-up works");
        (found, self.lookups.load(Ordering::SeqCst) != before)
    }

    /// Looks `key` up until the cache answers it (the listener connects in
    /// the background after the start, or after a loss).
    async fn until_cached(&self, key: &SessionKey) -> Found {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (found, asked) = self.find(key).await;
            if !asked {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "the cache never answered a known session"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Looks `key` up until `seen` holds; how long that took.
    async fn seen_within_bound(&self, key: &SessionKey, seen: impl Fn(&Found) -> bool) -> Duration {
        let start = Instant::now();
        loop {
            let (found, _) = self.find(key).await;
            if seen(&found) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < NOTIFICATION_BOUND,
                "another process's change was not seen within {NOTIFICATION_BOUND:?}: {found:?}"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

fn names(first: &str) -> NameChange {
    NameChange {
        first_name: Some(first.to_owned()),
        last_name: None,
    }
}

fn first_name(found: &Found) -> Option<&str> {
    found
        .as_ref()
        .and_then(|(_, user)| user.as_ref())
        .and_then(|user| user.first_name.as_deref())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_session_is_answered_from_memory_with_what_the_database_holds() {
    let db = TestDatabase::postgres().await;
    let cached = Cached::new(&db).await;
    let (user, session) = user_with_session(&cached.store, "t-known").await;
    let found = cached.until_cached(&session.key).await;
    assert_eq!(found, Some((session.clone(), Some(user))));
    // An unknown session is never cached: each look-up asks.
    let unknown = SessionKey::digest_of("nobody");
    for _ in 0..3 {
        assert_eq!(cached.find(&unknown).await, (None, true));
    }
}

/// Each kind of change `writer` makes — names, the whole user, password,
/// administrator right, logout, revoked sessions, deleted user, the sweep
/// — is seen by `cached`'s very next look-up, with no waiting; activity
/// as soon as its notification arrives.
async fn every_change_is_seen_by_the_next_look_up(cached: &Cached, writer: &SqlStore) {
    let (user, session) = user_with_session(writer, "t-1").await;
    let key = &session.key;

    cached.until_cached(key).await;
    writer
        .update_names(&user.id, &names("Ann"), noon(3))
        .await
        .expect("names");
    assert_eq!(first_name(&cached.find(key).await.0), Some("Ann"));

    cached.until_cached(key).await;
    let mut renamed = writer.get(&user.id).await.expect("get").expect("user");
    renamed.first_name = Some("Anna".to_owned());
    assert!(
        UserRepository::update(writer, &renamed)
            .await
            .expect("update")
    );
    assert_eq!(first_name(&cached.find(key).await.0), Some("Anna"));

    cached.until_cached(key).await;
    let new_hash = PasswordHash::Argon2id("$argon2id$v=19$m=19456,t=2,p=1$new".to_owned());
    assert!(
        writer
            .replace_password_hash(&user.id, &PasswordHash::Unusable, &new_hash, Some(noon(4)))
            .await
            .expect("password")
    );
    let found = cached.find(key).await.0.expect("still there");
    assert_eq!(found.1.expect("user").password_hash, new_hash);

    cached.until_cached(key).await;
    writer
        .set_admin(&user.id, true, noon(4))
        .await
        .expect("grant");
    assert!(
        cached
            .find(key)
            .await
            .0
            .expect("there")
            .1
            .expect("user")
            .is_admin
    );

    // Activity is not waited for (a read never waits on another
    // instance): seen once its notification arrives.
    cached.until_cached(key).await;
    assert!(writer.touch(key, noon(6)).await.expect("touch"));
    cached
        .seen_within_bound(key, |f| {
            f.as_ref().is_some_and(|(s, _)| s.last_used_at == noon(6))
        })
        .await;

    cached.until_cached(key).await;
    assert!(
        SessionRepository::delete(writer, key)
            .await
            .expect("logout")
    );
    assert_eq!(cached.find(key).await.0, None, "a logout is seen at once");

    let revoked = session_for(writer, &user, "t-2").await;
    cached.until_cached(&revoked.key).await;
    assert_eq!(
        writer.delete_by_user(&user.id, None).await.expect("revoke"),
        1
    );
    assert_eq!(cached.find(&revoked.key).await.0, None, "revoked sessions");

    let last = session_for(writer, &user, "t-3").await;
    cached.until_cached(&last.key).await;
    assert!(
        UserRepository::delete(writer, &user.id)
            .await
            .expect("delete")
    );
    assert_eq!(
        cached.find(&last.key).await.0,
        None,
        "a deleted user's session"
    );

    let (_, old) = user_with_session(writer, "t-4").await;
    cached.until_cached(&old.key).await;
    assert_eq!(
        writer
            .delete_expired(Some(noon(3)), None)
            .await
            .expect("sweep"),
        1
    );
    assert_eq!(cached.find(&old.key).await.0, None, "a swept session");
}

/// This process's changes: forgotten before the change returns, no waiting
/// for the notification.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn this_processs_changes_are_seen_by_its_next_look_up() {
    let db = TestDatabase::postgres().await;
    let cached = Cached::new(&db).await;
    every_change_is_seen_by_the_next_look_up(&cached, &cached.store).await;
}

/// Another process on the same database (another instance, the CLI): its
/// change is answered only once the cache has heard of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_processs_changes_are_seen_by_the_next_look_up() {
    let db = TestDatabase::postgres().await;
    let cached = Cached::new(&db).await;
    let other = db.store().await;
    every_change_is_seen_by_the_next_look_up(&cached, &other).await;
}

/// SQL by hand (an operator in `psql`) does not wait for the caches, but
/// its change is announced all the same and reaches them at once after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operators_sql_reaches_the_cache_when_its_notification_arrives() {
    let db = TestDatabase::postgres().await;
    let cached = Cached::new(&db).await;
    let other = db.store().await;
    let (user, session) = user_with_session(&other, "t-sql").await;
    let key = &session.key;
    let mut took = Vec::new();

    cached.until_cached(key).await;
    other
        .connection()
        .execute_unprepared("UPDATE users SET first_name = 'Annie'")
        .await
        .expect("an operator's SQL");
    took.push(
        cached
            .seen_within_bound(key, |f| first_name(f) == Some("Annie"))
            .await,
    );

    // More than 100 rows in one statement: one notification empties the
    // cache.
    for n in 0..150 {
        session_for(&other, &user, &format!("t-sql-{n}")).await;
    }
    cached.until_cached(key).await;
    other
        .connection()
        .execute_unprepared("UPDATE sessions SET user_agent = 'swept'")
        .await
        .expect("a mass update");
    took.push(
        cached
            .seen_within_bound(key, |f| {
                f.as_ref()
                    .is_some_and(|(s, _)| s.user_agent.as_deref() == Some("swept"))
            })
            .await,
    );

    cached.until_cached(key).await;
    other
        .connection()
        .execute_unprepared("DELETE FROM sessions")
        .await
        .expect("everyone logged out");
    took.push(cached.seen_within_bound(key, Option::is_none).await);
    println!("an operator's change reached the cache after {took:?}");
}

/// When the listener's connection is cut, the cache empties itself (a
/// change made meanwhile is never answered from memory) and fills again
/// once the listener is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_notification_connection_empties_the_cache_until_it_is_back() {
    let db = TestDatabase::postgres().await;
    let cached = Cached::new(&db).await;
    let other = db.store().await;
    let (user, session) = user_with_session(&other, "t-lost").await;
    let key = &session.key;
    cached.until_cached(key).await;

    let terminated = other
        .connection()
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity \
             WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
        ))
        .await
        .expect("terminate the listener")
        .iter()
        .map(|row| row.try_get::<bool>("", "done").expect("a flag"))
        .collect::<Vec<_>>();
    assert_eq!(terminated, vec![true], "one listener per cached store");
    // The change lands while the listener is gone: its notification is
    // lost, and only the emptied cache keeps it from being missed.
    other
        .update_names(&user.id, &names("Lost"), noon(3))
        .await
        .expect("names");
    let took = cached
        .seen_within_bound(key, |f| first_name(f) == Some("Lost"))
        .await;
    println!("the change made while the listener was gone was seen after {took:?}");
    // The listener comes back and the cache answers again.
    let found = cached.until_cached(key).await;
    assert_eq!(first_name(&found), Some("Lost"));
}
