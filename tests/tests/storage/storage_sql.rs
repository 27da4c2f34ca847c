//! The storage contract suite run against the SeaORM adapter: on SQLite
//! always, on PostgreSQL when `TEST_DATABASE_URL` is set at build time. Each
//! check gets its own database; reopening connects anew to the same one, so
//! every change must have been committed when its method returned.
//!
//! The failed-login log's contract runs on the same databases, with a
//! second store connected while the first is still open: several
//! instances on one database share their limits. Last come what only SQL
//! has: rows from before session activity was recorded, the schema
//! migration that added it, stepped down and up again, and one statement
//! per method.

use sea_orm::ConnectionTrait;
use std::sync::{Arc, Mutex, PoisonError};

use adapter_seaorm::{SchemaState, SqlStore};
use domain::{AttemptLog, Session, SessionRepository};
use integration_tests::sql_database::{TestDatabase, noon, user_with_session};
use integration_tests::storage_contract::attempt_log::AttemptBackend;
use integration_tests::storage_contract::{Backend, Stores};

/// The migration that added session activity and `login_failures`.
const ACTIVITY_MIGRATION: &str = "m20261128_000003_session_activity_and_login_failures";
/// The migration after it (digest columns as `text` on PostgreSQL), which
/// steps down and up with it.
const DIGESTS_MIGRATION: &str = "m20261201_000004_digests_as_text";
/// The migration after that (`users.is_admin`), which steps down and up
/// with them.
const ADMINS_MIGRATION: &str = "m20261210_000005_administrators";

/// The stores of a new connection to `db`, with a session cache of
/// `session_cache` sessions (0: none; SQLite never keeps one).
async fn stores(db: &TestDatabase, session_cache: usize) -> Stores {
    let store = Arc::new(db.cached_store(session_cache).await);
    Stores {
        users: store.clone(),
        sessions: store,
    }
}

async fn attempt_log(db: &TestDatabase) -> Arc<dyn AttemptLog> {
    Arc::new(db.store().await)
}

async fn execute(store: &SqlStore, sql: &str) -> Result<(), sea_orm::DbErr> {
    store.connection().execute_unprepared(sql).await.map(|_| ())
}

/// A session stored before its activity was recorded (`last_used_at` is
/// NULL) reads as last used at its login, and the idle sweep judges it
/// by that time.
async fn sessions_without_recorded_activity_count_as_used_at_login(db: TestDatabase) {
    let store = db.store().await;
    let (_, stored) = user_with_session(&store, "legacy").await;
    execute(&store, "UPDATE sessions SET last_used_at = NULL")
        .await
        .expect("clear last_used_at");

    let legacy = Session {
        last_used_at: stored.created_at,
        ..stored.clone()
    };
    assert_eq!(store.find(&stored.key).await.expect("find"), Some(legacy));
    // Idle since its login on day 2: a day-2 cut-off keeps it, a day-3 one
    // removes it.
    assert_eq!(
        store
            .delete_expired(None, Some(noon(2)))
            .await
            .expect("sweep"),
        0
    );
    assert_eq!(
        store
            .delete_expired(None, Some(noon(3)))
            .await
            .expect("sweep"),
        1
    );
    assert_eq!(store.find(&stored.key).await.expect("find"), None);
}

/// The activity migration steps down (its columns, index and table go,
/// and the sessions stay) and up again (so `down` removed everything `up`
/// creates); sessions from before read as used at login.
async fn the_activity_migration_steps_down_and_up_again(db: TestDatabase) {
    let store = db.store().await;
    let (user, stored) = user_with_session(&store, "survivor").await;

    // Step down through every later migration (the digests one, and any
    // added since) until the activity migration is undone too.
    let pending = loop {
        store.migrate_down(1).await.expect("migrate down");
        match store.schema_state().await.expect("schema state") {
            SchemaState::Pending(pending) if pending[0] == ACTIVITY_MIGRATION => break pending,
            SchemaState::Pending(pending) => assert!(
                !pending.iter().any(|m| m == ACTIVITY_MIGRATION),
                "{pending:?}"
            ),
            SchemaState::Current => panic!("nothing was rolled back"),
        }
    };
    assert_eq!(pending.get(1).map(String::as_str), Some(DIGESTS_MIGRATION));
    assert!(pending.iter().any(|m| m == ADMINS_MIGRATION), "{pending:?}");
    for gone in [
        "SELECT is_admin FROM users",
        "SELECT last_used_at FROM sessions",
        "SELECT client_address FROM sessions",
        "SELECT user_agent FROM sessions",
        "SELECT COUNT(*) FROM login_failures",
    ] {
        assert!(execute(&store, gone).await.is_err(), "still there: {gone}");
    }
    execute(
        &store,
        "SELECT token_digest, id, user_id, created_at, updated_at FROM sessions",
    )
    .await
    .expect("the older columns are still there");

    assert_eq!(store.migrate_up().await.expect("migrate up again"), pending);
    let found = store
        .find_with_user(&stored.key, &store)
        .await
        .expect("find");
    let expected = Session {
        last_used_at: stored.created_at,
        client_address: None,
        user_agent: None,
        ..stored
    };
    assert_eq!(found, Some((expected, Some(user))));
    assert_eq!(
        store
            .failures(None, None, noon(1))
            .await
            .expect("count failures")
            .count,
        0
    );
}

/// Every session and failed-login method is one statement (so one round
/// trip), and a sweep with no limit is none at all. On PostgreSQL an
/// ending operation asks one more thing, whether it deleted rows or not:
/// which other processes keep a session cache that must hear of it first
/// (none does here). Activity (a touch) asks nothing more.
async fn each_session_and_attempt_method_is_one_statement(db: TestDatabase) {
    let fence = usize::from(db.url.starts_with("postgres"));
    let mut store = db.store().await;
    let (user, session) = user_with_session(&store, "counted").await;
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&seen);
    store.observe_statements(move |sql| {
        sink.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sql.to_owned());
    });
    let statements = |method: &str, expected: usize| {
        let mut run = seen.lock().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(run.len(), expected, "{method}: {run:#?}");
        run.clear();
    };

    SessionRepository::insert(&store, &session)
        .await
        .expect("insert");
    statements("insert", 1);
    store.find(&session.key).await.expect("find");
    statements("find", 1);
    store
        .find_with_user(&session.key, &store)
        .await
        .expect("find_with_user");
    statements("find_with_user", 1);
    store.touch(&session.key, noon(6)).await.expect("touch");
    statements("touch", 1);
    store.list_by_user(&user.id).await.expect("list_by_user");
    statements("list_by_user", 1);
    store
        .delete_by_user(&user.id, Some(&session.key))
        .await
        .expect("delete_by_user");
    statements("delete_by_user", 1 + fence);
    store
        .delete_expired(Some(noon(1)), Some(noon(1)))
        .await
        .expect("delete_expired");
    statements("delete_expired", 1 + fence);
    store
        .delete_expired(None, None)
        .await
        .expect("delete_expired without limits");
    statements("delete_expired without limits", 0);

    let attempt = domain::FailedAttempt {
        account: domain::AccountKey::of("counted@example.com"),
        address: "203.0.113.7".to_owned(),
        at: noon(6),
    };
    store
        .record_failure(&attempt)
        .await
        .expect("record_failure");
    statements("record_failure", 1);
    for (account, address) in [
        (Some(&attempt.account), None),
        (None, Some(attempt.address.as_str())),
        (Some(&attempt.account), Some(attempt.address.as_str())),
    ] {
        let window = store
            .failures(account, address, noon(5))
            .await
            .expect("failures");
        assert_eq!(window.count, 1);
        statements("failures", 1);
    }
    store.prune(noon(7)).await.expect("prune");
    statements("prune", 1);
}

mod sqlite {
    use super::*;

    struct Sqlite(TestDatabase);

    impl Backend for Sqlite {
        async fn create() -> (Self, Stores) {
            let db = TestDatabase::sqlite();
            let stores = stores(&db, 0).await;
            (Sqlite(db), stores)
        }

        async fn reopen(&self) -> Option<Stores> {
            Some(stores(&self.0, 0).await)
        }
    }

    impl AttemptBackend for Sqlite {
        async fn create() -> (Self, Arc<dyn AttemptLog>) {
            let db = TestDatabase::sqlite();
            let log = attempt_log(&db).await;
            (Sqlite(db), log)
        }

        async fn reopen(&self) -> Option<Arc<dyn AttemptLog>> {
            Some(attempt_log(&self.0).await)
        }
    }

    integration_tests::storage_contract_tests!(Sqlite);

    mod attempts {
        use super::Sqlite;

        integration_tests::attempt_log_contract_tests!(Sqlite);
    }

    #[tokio::test]
    async fn sessions_without_recorded_activity_count_as_used_at_login() {
        super::sessions_without_recorded_activity_count_as_used_at_login(TestDatabase::sqlite())
            .await;
    }

    #[tokio::test]
    async fn the_activity_migration_steps_down_and_up_again() {
        super::the_activity_migration_steps_down_and_up_again(TestDatabase::sqlite()).await;
    }

    #[tokio::test]
    async fn each_session_and_attempt_method_is_one_statement() {
        super::each_session_and_attempt_method_is_one_statement(TestDatabase::sqlite()).await;
    }
}

#[cfg(postgres_tests)]
mod postgres {
    use super::*;

    /// A PostgreSQL database; its stores keep a session cache of
    /// `SESSION_CACHE` sessions (0: none).
    pub(super) struct Postgres<const SESSION_CACHE: usize>(TestDatabase);

    impl<const SESSION_CACHE: usize> Backend for Postgres<SESSION_CACHE> {
        async fn create() -> (Self, Stores) {
            let db = TestDatabase::postgres().await;
            let stores = stores(&db, SESSION_CACHE).await;
            (Postgres(db), stores)
        }

        async fn reopen(&self) -> Option<Stores> {
            Some(stores(&self.0, SESSION_CACHE).await)
        }
    }

    impl AttemptBackend for Postgres<0> {
        async fn create() -> (Self, Arc<dyn AttemptLog>) {
            let db = TestDatabase::postgres().await;
            let log = attempt_log(&db).await;
            (Postgres(db), log)
        }

        async fn reopen(&self) -> Option<Arc<dyn AttemptLog>> {
            Some(attempt_log(&self.0).await)
        }
    }

    integration_tests::storage_contract_tests!(Postgres<0>);

    mod attempts {
        use super::Postgres;

        integration_tests::attempt_log_contract_tests!(Postgres<0>);
    }

    #[tokio::test]
    async fn sessions_without_recorded_activity_count_as_used_at_login() {
        super::sessions_without_recorded_activity_count_as_used_at_login(
            TestDatabase::postgres().await,
        )
        .await;
    }

    #[tokio::test]
    async fn the_activity_migration_steps_down_and_up_again() {
        super::the_activity_migration_steps_down_and_up_again(TestDatabase::postgres().await).await;
    }

    #[tokio::test]
    async fn each_session_and_attempt_method_is_one_statement() {
        super::each_session_and_attempt_method_is_one_statement(TestDatabase::postgres().await)
            .await;
    }
}

/// The same contract on PostgreSQL through a store with a session cache, as
/// the server runs it: every change the contract makes is seen by the next
/// look-up; reopening connects a second store (another instance) that
/// starts with an empty cache.
#[cfg(postgres_tests)]
mod postgres_cached {
    integration_tests::storage_contract_tests!(super::postgres::Postgres<1_000>);
}

/// A statement blocked by another connection's lock is abandoned after the
/// statement timeout and reported as unavailable (503), freeing its
/// connection; once the lock is gone the store answers again. Also: a
/// session whose user does not exist is refused as `NoSuchUser` (a login
/// that lost the race with its user's deletion).
#[cfg(postgres_tests)]
mod postgres_limits {
    use super::*;
    use adapter_seaorm::SqlOptions;
    use domain::{RepositoryError, SessionId, SessionKey, UserId, UserRepository};
    use integration_tests::sql_database::sql_options;
    use sea_orm::{Database, TransactionTrait};
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn a_blocked_statement_times_out_as_unavailable_and_the_store_recovers() {
        let db = TestDatabase::postgres().await;
        let store = db.store().await;
        let (user, _) = user_with_session(&store, "blocked").await;
        let impatient = SqlStore::connect(&SqlOptions {
            statement_timeout: Duration::from_secs(1),
            ..sql_options(db.url.clone())
        })
        .await
        .expect("connect");

        let locker = Database::connect(&db.url).await.expect("second connection");
        let lock = locker.begin().await.expect("begin");
        lock.execute_unprepared("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("lock");

        let started = Instant::now();
        let blocked = impatient.get(&user.id).await;
        assert!(
            matches!(blocked, Err(RepositoryError::Unavailable(_))),
            "expected Unavailable, got {blocked:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "the statement waited {:?}",
            started.elapsed()
        );

        lock.rollback().await.expect("release");
        assert_eq!(
            impatient.get(&user.id).await.expect("after release"),
            Some(user)
        );
    }

    #[tokio::test]
    async fn a_session_of_a_user_that_does_not_exist_is_refused_as_no_such_user() {
        let db = TestDatabase::postgres().await;
        let store = db.store().await;
        let (_, mut session) = user_with_session(&store, "orphan").await;
        session.id = SessionId::generate();
        session.user_id = UserId::generate();
        session.key = SessionKey::digest_of("another token");
        let refused = SessionRepository::insert(&store, &session).await;
        assert!(
            matches!(refused, Err(RepositoryError::NoSuchUser)),
            "expected NoSuchUser, got {refused:?}"
        );
    }
}
