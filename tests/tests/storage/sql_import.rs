//! Importing a large Flask data folder into SQL storage: every record
//! arrives, the progress shows, and a second run finds everything present
//! and imports nothing.
//!
//! How the time grows with the folder is a speed goal, measured by
//! `bench/import.sh` at 100,000 users, not asserted here: a timed
//! assertion fails on a busy machine without a fault in the code.

use std::path::Path;

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

/// Imports `folder` into `storage`, checks that every user and session
/// arrived, and returns the progress lines.
async fn import_all(folder: &Path, storage: &Storage, count: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let report = import(folder, storage, |line| lines.push(line.to_owned()))
        .await
        .unwrap_or_else(|e| panic!("import failed: {e}"));
    assert_eq!(
        (report.users_imported, report.sessions_imported),
        (count as u64, count as u64),
        "{report}"
    );
    assert!(report.skipped.is_empty(), "{report}");
    lines
}

/// 10,000 users with a session each arrive whole; progress is reported
/// half-way and at the end; a second run imports nothing and finds every
/// record present.
async fn large_import_is_complete_and_idempotent<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (TestDatabase, Storage)>,
{
    let large = flask_folder(10_000);
    let (_db, storage) = open().await;
    let lines = import_all(large.path(), &storage, 10_000).await;
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
async fn large_import_into_sqlite_is_complete() {
    large_import_is_complete_and_idempotent(|| async {
        let db = TestDatabase::sqlite();
        let storage = Storage::sql(db.store().await);
        (db, storage)
    })
    .await;
}

#[cfg(postgres_tests)]
#[tokio::test(flavor = "multi_thread")]
async fn large_import_into_postgres_is_complete() {
    large_import_is_complete_and_idempotent(|| async {
        let db = TestDatabase::postgres().await;
        let storage = Storage::sql(db.store().await);
        (db, storage)
    })
    .await;
}
