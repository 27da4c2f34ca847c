//! The plans of the SQL storage's statements at a realistic size: with
//! 50,000 users, sessions and failed logins stored (and the statistics a
//! database in service has), every statement a request or an import runs
//! is answered through an index, never by reading a whole table.
//!
//! The statements are the store's own: each method runs once while the
//! store reports what it sends, with its bound values, and the database
//! explains exactly that statement. So the types of the parameters are the
//! ones the store binds: a parameter whose type differs from its column's
//! (a `text` digest against a `character(64)` column on PostgreSQL) turns
//! the look-up into a scan, and fails here.
//!
//! These are tests of plans, not of speed: nothing here is timed.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use std::sync::{Arc, Mutex, PoisonError};

use adapter_seaorm::SqlStore;
use domain::{
    AccountKey, AttemptLog, Email, PasswordHash, Session, SessionBatchOutcome, SessionId,
    SessionKey, SessionRepository, User, UserBatchOutcome, UserId, UserRepository,
};
use integration_tests::sql_database::TestDatabase;

/// How many users, sessions and failed logins the tables hold.
const ROWS: usize = 50_000;
const BATCH: usize = 1_000;

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("a date"))
}

fn user(i: usize) -> User {
    let at = base() + Duration::seconds(i as i64);
    User {
        id: UserId::generate(),
        email: Email::parse(format!("user{i}@example.com")).expect("fixture email"),
        password_hash: PasswordHash::Unusable,
        first_name: Some(format!("First{i}")),
        last_name: None,
        created_at: at,
        updated_at: at,
        is_admin: false,
    }
}

fn session_of(user: &User, i: usize) -> Session {
    let at = base() + Duration::seconds(i as i64);
    Session {
        id: SessionId::generate(),
        key: SessionKey::digest_of(&format!("token-{i}")),
        user_id: user.id,
        created_at: at,
        updated_at: at,
        last_used_at: at,
        client_address: Some("203.0.113.7".to_owned()),
        user_agent: Some("curl/8.5.0".to_owned()),
    }
}

/// `ROWS` users with one session each (through the store's own batched
/// insert) and `ROWS` failed logins, then fresh statistics; the users.
async fn fill(store: &SqlStore) -> Vec<User> {
    let users: Vec<User> = (0..ROWS).map(user).collect();
    for batch in users.chunks(BATCH) {
        let outcomes = UserRepository::insert_new_batch(store, batch)
            .await
            .expect("insert users");
        assert!(outcomes.iter().all(|o| *o == UserBatchOutcome::Inserted));
    }
    let sessions: Vec<Session> = users
        .iter()
        .enumerate()
        .map(|(i, u)| session_of(u, i))
        .collect();
    for batch in sessions.chunks(BATCH) {
        let outcomes = SessionRepository::insert_new_batch(store, batch, store)
            .await
            .expect("insert sessions");
        assert!(outcomes.iter().all(|o| *o == SessionBatchOutcome::Inserted));
    }
    let connection = store.connection();
    let failures = match connection.get_database_backend() {
        DatabaseBackend::Postgres => {
            "INSERT INTO login_failures (account, address, at)
             SELECT md5(i::text) || md5(i::text), '10.0.' || (i % 250) || '.' || (i / 250 % 250),
                    TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL '1 second'
             FROM generate_series(1, 50000) AS i"
        }
        _ => {
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
             INSERT INTO login_failures (account, address, at)
             SELECT printf('%064x', i), '10.0.' || (i % 250) || '.' || (i / 250 % 250),
                    strftime('%Y-%m-%dT%H:%M:%S+00:00', '2024-01-01 00:00:00', '+' || i || ' seconds')
             FROM n"
        }
    };
    connection
        .execute_unprepared(failures)
        .await
        .expect("insert failed logins");
    // What autovacuum (PostgreSQL) or `PRAGMA optimize` (SQLite) gives a
    // database in service.
    connection
        .execute_unprepared("ANALYZE")
        .await
        .expect("analyze");
    users
}

/// The statements `store` ran since the last call.
type Seen = Arc<Mutex<Vec<Statement>>>;

fn take(seen: &Seen) -> Vec<Statement> {
    std::mem::take(&mut *seen.lock().unwrap_or_else(PoisonError::into_inner))
}

/// The database's plan of `statement`, one line per plan node (the
/// `EXPLAIN` itself is not left among the statements seen).
async fn plan(store: &SqlStore, seen: &Seen, statement: &Statement) -> String {
    let connection = store.connection();
    let backend = connection.get_database_backend();
    let (prefix, column) = match backend {
        DatabaseBackend::Postgres => ("EXPLAIN (COSTS OFF) ", 0),
        _ => ("EXPLAIN QUERY PLAN ", 3),
    };
    let explain = Statement {
        sql: format!("{prefix}{}", statement.sql),
        ..statement.clone()
    };
    let rows = connection
        .query_all_raw(explain)
        .await
        .unwrap_or_else(|e| panic!("cannot explain {}: {e}", statement.sql));
    let plan = rows
        .iter()
        .map(|row| {
            row.try_get_by_index::<String>(column)
                .unwrap_or_else(|e| panic!("a plan line: {e}"))
        })
        .collect::<Vec<_>>()
        .join("\n");
    take(seen);
    plan
}

/// Whether a plan reads any table whole.
fn scans_a_table(plan: &str) -> bool {
    plan.lines().any(|line| {
        let line = line.trim_start_matches([' ', '-', '>']);
        // PostgreSQL: `Seq Scan on sessions`; SQLite: `SCAN sessions`
        // (a `SEARCH` goes through an index; `SCAN CONSTANT ROW` is the
        // one row of an `INSERT … SELECT` without a table).
        line.contains("Seq Scan")
            || (line.starts_with("SCAN ") && !line.starts_with("SCAN CONSTANT ROW"))
    })
}

/// Whether a plan looks rows up through an index.
fn uses_an_index(plan: &str) -> bool {
    plan.contains("Index Scan")
        || plan.contains("Index Only Scan")
        || plan.contains("Bitmap Index Scan")
        || plan.contains("USING INDEX")
        || plan.contains("USING COVERING INDEX")
        || plan.contains("USING PRIMARY KEY")
        || plan.contains("USING INTEGER PRIMARY KEY")
}

/// Every statement `what` ran reads through an index and scans no table;
/// `what` ran `expected` statements.
/// The fence a change runs on PostgreSQL (which other processes keep a
/// session cache) is left out: it reads `session_cache_listeners`, one row
/// per running server, whose whole-table read costs nothing.
async fn assert_indexed(store: &SqlStore, seen: &Seen, what: &str, expected: usize) {
    let statements: Vec<Statement> = take(seen)
        .into_iter()
        .filter(|s| !s.sql.contains("session_cache_listeners"))
        .collect();
    assert_eq!(statements.len(), expected, "{what}: {statements:#?}");
    for statement in &statements {
        let plan = plan(store, seen, statement).await;
        assert!(
            !scans_a_table(&plan) && uses_an_index(&plan),
            "{what} does not use an index at {ROWS} rows:\n{}\n{plan}",
            statement.sql
        );
    }
}

/// The one statement `what` ran starting with `verb` reads `users` through
/// the folded-email index (`users_email_folded`) and scans no table.
async fn assert_through_folded_email_index(store: &SqlStore, seen: &Seen, what: &str, verb: &str) {
    let statements: Vec<Statement> = take(seen)
        .into_iter()
        .filter(|s| s.sql.starts_with(verb))
        .collect();
    assert_eq!(statements.len(), 1, "{what}: {statements:#?}");
    let plan = plan(store, seen, &statements[0]).await;
    assert!(
        !scans_a_table(&plan) && plan.contains("users_email_folded"),
        "{what} does not use the folded-email index at {ROWS} rows:\n{}\n{plan}",
        statements[0].sql
    );
}

/// Every statement that is not a plain insert, run against full tables.
async fn every_look_up_uses_an_index_at_fifty_thousand_rows(db: TestDatabase) {
    let mut store = db.store().await;
    let users = fill(&store).await;
    let seen: Seen = Arc::default();
    let sink = Arc::clone(&seen);
    store.observe_bound_statements(move |statement| {
        sink.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(statement.clone());
    });
    let store = store;
    let ann = &users[ROWS / 2];
    let ann_session = session_of(ann, ROWS / 2);
    let key = &ann_session.key;

    // A session-authenticated request, and its activity.
    store
        .find_with_user(key, &store)
        .await
        .expect("find_with_user");
    assert_indexed(&store, &seen, "find_with_user", 1).await;
    store.find(key).await.expect("find");
    assert_indexed(&store, &seen, "find", 1).await;
    store
        .touch(key, base() + Duration::days(2))
        .await
        .expect("touch");
    assert_indexed(&store, &seen, "touch", 1).await;
    // A user's own sessions.
    store.list_by_user(&ann.id).await.expect("list_by_user");
    assert_indexed(&store, &seen, "list_by_user", 1).await;
    store
        .delete_by_user(&ann.id, Some(key))
        .await
        .expect("delete_by_user");
    assert_indexed(&store, &seen, "delete_by_user", 1).await;
    // The sweeper, with cut-offs before every session (as in service:
    // few sessions die per sweep).
    store
        .delete_expired(
            Some(base() - Duration::days(1)),
            Some(base() - Duration::days(1)),
        )
        .await
        .expect("delete_expired");
    assert_indexed(&store, &seen, "delete_expired", 1).await;

    // Logins and user routes. An email is looked up ignoring case, through
    // the index on the folded email (not by walking another index).
    let shouted = Email::parse(ann.email.as_str().to_uppercase()).expect("an email");
    let found = store.find_by_email(&shouted).await.expect("find_by_email");
    assert_eq!(found.map(|u| u.id), Some(ann.id));
    assert_through_folded_email_index(&store, &seen, "find_by_email", "SELECT").await;
    // A new account: its email is checked ignoring case through that index.
    let newcomer = user(ROWS + 1);
    UserRepository::insert(&store, &newcomer)
        .await
        .expect("insert a new account");
    assert_through_folded_email_index(&store, &seen, "insert", "INSERT").await;
    let mut recased = newcomer.clone();
    recased.email = Email::parse(newcomer.email.as_str().to_uppercase()).expect("an email");
    assert!(
        matches!(
            UserRepository::insert(
                &store,
                &User {
                    id: UserId::generate(),
                    ..recased
                }
            )
            .await,
            Err(domain::RepositoryError::DuplicateEmail)
        ),
        "an email equal but for case is a duplicate"
    );
    take(&seen);
    UserRepository::get(&store, &ann.id).await.expect("get");
    assert_indexed(&store, &seen, "get", 1).await;
    let renamed = User {
        first_name: Some("Renamed".to_owned()),
        ..ann.clone()
    };
    assert!(store.update(&renamed).await.expect("update"));
    assert_indexed(&store, &seen, "update", 1).await;

    // The brute-force limits.
    let account = AccountKey::of(ann.email.as_str());
    let since = base() + Duration::days(1);
    for (account, address) in [
        (Some(&account), None),
        (None, Some("10.0.3.7")),
        (Some(&account), Some("10.0.3.7")),
    ] {
        store
            .failures(account, address, since)
            .await
            .expect("failures");
        assert_indexed(&store, &seen, "failures", 1).await;
    }
    store
        .prune(base() - Duration::days(1))
        .await
        .expect("prune");
    assert_indexed(&store, &seen, "prune", 1).await;

    // An import run again over records already stored: the look-ups of a
    // batch (ids, emails, keys, users) are indexed too.
    let again: Vec<User> = users[..BATCH].to_vec();
    let outcomes = UserRepository::insert_new_batch(&store, &again)
        .await
        .expect("users again");
    assert!(
        outcomes
            .iter()
            .all(|o| *o == UserBatchOutcome::AlreadyPresent)
    );
    let statements = take(&seen);
    for statement in statements.iter().filter(|s| s.sql.starts_with("SELECT")) {
        let plan = plan(&store, &seen, statement).await;
        assert!(
            !scans_a_table(&plan) && uses_an_index(&plan),
            "a batched user insert scans:\n{}\n{plan}",
            statement.sql
        );
    }
    let sessions: Vec<Session> = users[..BATCH]
        .iter()
        .enumerate()
        .map(|(i, u)| session_of(u, i))
        .collect();
    let outcomes = SessionRepository::insert_new_batch(&store, &sessions, &store)
        .await
        .expect("sessions again");
    assert!(
        outcomes
            .iter()
            .all(|o| *o == SessionBatchOutcome::AlreadyPresent)
    );
    let statements = take(&seen);
    assert!(statements.iter().any(|s| s.sql.starts_with("SELECT")));
    for statement in statements.iter().filter(|s| s.sql.starts_with("SELECT")) {
        let plan = plan(&store, &seen, statement).await;
        assert!(
            !scans_a_table(&plan) && uses_an_index(&plan),
            "a batched session insert scans:\n{}\n{plan}",
            statement.sql
        );
    }

    // Logout, and deleting a user (whose sessions go by the user index).
    assert!(
        SessionRepository::delete(&store, key)
            .await
            .expect("logout")
    );
    assert_indexed(&store, &seen, "delete", 1).await;
    assert!(
        UserRepository::delete(&store, &ann.id)
            .await
            .expect("delete user")
    );
    assert_indexed(&store, &seen, "delete user", 1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_every_look_up_uses_an_index_at_fifty_thousand_rows() {
    every_look_up_uses_an_index_at_fifty_thousand_rows(TestDatabase::sqlite()).await;
}

#[cfg(postgres_tests)]
#[tokio::test(flavor = "multi_thread")]
async fn postgres_every_look_up_uses_an_index_at_fifty_thousand_rows() {
    every_look_up_uses_an_index_at_fifty_thousand_rows(TestDatabase::postgres().await).await;
}
