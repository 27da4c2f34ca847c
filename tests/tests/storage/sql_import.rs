//! Importing a large Flask data folder into SQL storage: the cost grows
//! with the number of records, not with its square (ten times the records
//! cost at most fifteen times the time), the progress shows, and a second
//! run finds everything present.
//!
//! The sizes are kept modest (1,000 and 10,000 users, each with a session)
//! so the suite stays fast; `bench/import.sh` measures 100,000.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use domain::{Password, PasswordHash};
use integration_tests::sql_database::TestDatabase;
use session_auth::Storage;
use session_auth::import::import;

/// A Flask data folder with `count` users, each with one session.
fn flask_folder(count: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let hash = PasswordHash::legacy_sha256_of(
        &Password::parse("flask-pw").unwrap_or_else(|| panic!("a password")),
    );
    let mut users = Map::new();
    let mut sessions = Map::new();
    for i in 0..count {
        let id = uuid::Uuid::new_v4().to_string();
        users.insert(
            id.clone(),
            json!({
                "id": id, "created_at": "2020-02-03T04:05:06", "updated_at": "2020-02-03T04:05:06",
                "email": format!("user{i}@flask.io"), "_password": hash.as_stored(),
                "first_name": "Flask", "last_name": null
            }),
        );
        let record = uuid::Uuid::new_v4().to_string();
        sessions.insert(
            record.clone(),
            json!({
                "id": record, "created_at": "2099-01-01T00:00:00", "updated_at": "2099-01-01T00:00:00",
                "user_id": id, "session_id": uuid::Uuid::new_v4().to_string()
            }),
        );
    }
    for (name, records) in [(".db_User.json", users), (".db_UserSession.json", sessions)] {
        std::fs::write(dir.path().join(name), Value::Object(records).to_string())
            .unwrap_or_else(|e| panic!("write {name}: {e}"));
    }
    dir
}

/// Imports `folder` into `storage`: how long it took, and the progress
/// lines.
async fn timed_import(folder: &Path, storage: &Storage, count: usize) -> (Duration, Vec<String>) {
    let mut lines = Vec::new();
    let started = Instant::now();
    let report = import(folder, storage, |line| lines.push(line.to_owned()))
        .await
        .unwrap_or_else(|e| panic!("import failed: {e}"));
    let took = started.elapsed();
    assert_eq!(
        (report.users_imported, report.sessions_imported),
        (count as u64, count as u64),
        "{report}"
    );
    assert!(report.skipped.is_empty(), "{report}");
    (took, lines)
}

/// Ten times the records cost at most fifteen times the time; progress is
/// reported on the large folder; a second run imports nothing and finds
/// every record present.
async fn import_time_grows_linearly<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (TestDatabase, Storage)>,
{
    let small = flask_folder(1_000);
    let large = flask_folder(10_000);

    // The best of two runs of each, each into a fresh database, so that a
    // stall on a busy machine (other builds, other tests) does not count.
    let mut small_time = Duration::MAX;
    for _ in 0..2 {
        let (_db, storage) = open().await;
        let (took, _) = timed_import(small.path(), &storage, 1_000).await;
        small_time = small_time.min(took);
    }
    let (first_time, _) = {
        let (_db, storage) = open().await;
        timed_import(large.path(), &storage, 10_000).await
    };
    let (_db, storage) = open().await;
    let (second_time, lines) = timed_import(large.path(), &storage, 10_000).await;
    let large_time = first_time.min(second_time);
    eprintln!("import of 1,000 users and sessions: {small_time:?}; of 10,000: {large_time:?}");
    assert!(
        large_time <= small_time * 15,
        "10,000 records took {large_time:?}, 1,000 took {small_time:?}: more than 15 times as long"
    );
    assert!(
        lines.iter().any(|l| l == "users: 5000/10000")
            && lines.iter().any(|l| l == "sessions: 10000/10000"),
        "{lines:?}"
    );

    let again = import(large.path(), &storage, |_| {})
        .await
        .unwrap_or_else(|e| panic!("second import failed: {e}"));
    assert_eq!(
        (
            again.users_imported,
            again.sessions_imported,
            again.users_present,
            again.sessions_present
        ),
        (0, 0, 10_000, 10_000),
        "{again}"
    );
    assert_eq!(storage.users.count().await.ok(), Some(10_000));
}

#[tokio::test(flavor = "multi_thread")]
async fn import_into_sqlite_grows_linearly() {
    import_time_grows_linearly(|| async {
        let db = TestDatabase::sqlite();
        let storage = Storage::sql(db.store().await);
        (db, storage)
    })
    .await;
}

#[cfg(postgres_tests)]
#[tokio::test(flavor = "multi_thread")]
async fn import_into_postgres_grows_linearly() {
    import_time_grows_linearly(|| async {
        let db = TestDatabase::postgres().await;
        let storage = Storage::sql(db.store().await);
        (db, storage)
    })
    .await;
}
