//! The service on SQL storage, beyond the shared contract suites: the cost
//! of an authenticated request, behaviour while the database is away, and
//! importing the Flask API's files (into every storage).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use poem::test::TestClient;
use serde_json::json;

use adapter_crypto::{Argon2Hasher, OsTokenGenerator, SystemClock};
use adapter_file::{FileStore, JournalSettings};
use adapter_memory::MemoryStore;
use domain::NewUser;
use domain::{AuthType, Password, PasswordHash, UserId};
use integration_tests::sql_database::TestDatabase;
use session_auth::import::import;
use session_auth::{Infrastructure, Settings, Storage};

fn settings() -> Settings {
    Settings {
        auth_type: AuthType::SessionDbAuth,
        session_name: "_my_session_id".into(),
        session_duration: 3600,
        ..Settings::default()
    }
}

fn infra() -> Infrastructure {
    Infrastructure {
        hasher: Arc::new(Argon2Hasher::new(2, 64)),
        clock: Arc::new(SystemClock),
        tokens: Arc::new(OsTokenGenerator),
        audit: Arc::new(domain::NoAudit),
        mail: None,
    }
}

async fn add_user(storage: &Storage, email: &str, password: &str) {
    let (use_cases, _) = session_auth::use_cases(&settings(), storage, &infra());
    use_cases
        .users
        .create_user(
            &domain::Actor::operator(),
            NewUser::parse(Some(email.into()), Some(password.into()), None, None)
                .unwrap_or_else(|e| panic!("cannot create {email}: {e}")),
        )
        .await
        .unwrap_or_else(|e| panic!("cannot create {email}: {e}"));
}

async fn login_cookie<E: poem::Endpoint>(
    client: &TestClient<E>,
    email: &str,
    password: &str,
) -> String {
    let response = client
        .post("/api/v1/auth_session/login")
        .content_type("application/x-www-form-urlencoded")
        .body(format!("email={email}&password={password}"))
        .send()
        .await;
    response.assert_status_is_ok();
    let set = response
        .0
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    set.split(';').next().unwrap_or_default().to_owned()
}

/// Every session-authenticated request makes exactly one statement: the
/// session joined with its user.
async fn session_request_is_one_round_trip(db: TestDatabase) {
    let mut store = db.store().await;
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    store.observe_statements(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let storage = Storage::sql(store);
    add_user(&storage, "ann@example.com", "pw").await;
    let client = TestClient::new(session_auth::http_endpoint(&settings(), &storage, &infra()));
    let cookie = login_cookie(&client, "ann@example.com", "pw").await;

    statements.store(0, Ordering::SeqCst);
    let me = client
        .get("/api/v1/users/me")
        .header("Cookie", &cookie)
        .send()
        .await;
    me.assert_status_is_ok();
    assert_eq!(
        statements.load(Ordering::SeqCst),
        1,
        "GET /users/me took more than one statement"
    );
}

/// A Flask data folder with a legacy user, a record that is not a user,
/// a session holding a raw token, and a session of a user who is gone.
fn flask_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let legacy = PasswordHash::legacy_sha256_of(
        &Password::parse("flask-pw").unwrap_or_else(|| panic!("pw")),
    );
    let users = json!({
        "0b7f1e5c-4b0a-4e39-9d1b-2d7c6a8f0e11": {
            "id": "0b7f1e5c-4b0a-4e39-9d1b-2d7c6a8f0e11",
            "created_at": "2020-02-03T04:05:06", "updated_at": "2021-02-03T04:05:06",
            "email": "old@flask.io", "_password": legacy.as_stored(),
            "first_name": "Old", "last_name": null
        },
        // Two accounts the Flask API let differ only in case: both come in.
        "1c8f2e6d-5c1b-4f4a-8e2c-3e8d7b9f1f22": {
            "id": "1c8f2e6d-5c1b-4f4a-8e2c-3e8d7b9f1f22",
            "created_at": "2020-02-04T04:05:06", "updated_at": "2020-02-04T04:05:06",
            "email": "case@flask.io", "_password": legacy.as_stored(),
            "first_name": null, "last_name": null
        },
        "2d9f3f7e-6d2c-4a5b-9f3d-4f9e8c0a2a33": {
            "id": "2d9f3f7e-6d2c-4a5b-9f3d-4f9e8c0a2a33",
            "created_at": "2020-02-05T04:05:06", "updated_at": "2020-02-05T04:05:06",
            "email": "Case@Flask.io", "_password": legacy.as_stored(),
            "first_name": null, "last_name": null
        },
        "not-a-uuid": {
            "id": "not-a-uuid", "created_at": "2020-02-03T04:05:06", "updated_at": "2020-02-03T04:05:06",
            "email": "broken@flask.io", "_password": null
        }
    });
    let sessions = json!({
        "6f1c2a8e-0c1d-4f5e-8a9b-0c1d2e3f4a5b": {
            "id": "6f1c2a8e-0c1d-4f5e-8a9b-0c1d2e3f4a5b",
            "created_at": "2099-01-01T00:00:00", "updated_at": "2099-01-01T00:00:00",
            "user_id": "0b7f1e5c-4b0a-4e39-9d1b-2d7c6a8f0e11",
            "session_id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
        },
        "7f1c2a8e-0c1d-4f5e-8a9b-0c1d2e3f4a5b": {
            "id": "7f1c2a8e-0c1d-4f5e-8a9b-0c1d2e3f4a5b",
            "created_at": "2099-01-01T00:00:00", "updated_at": "2099-01-01T00:00:00",
            "user_id": "99999999-4b0a-4e39-9d1b-2d7c6a8f0e11",
            "session_id": "b1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
        }
    });
    std::fs::write(dir.path().join(".db_User.json"), users.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join(".db_UserSession.json"),
        sessions.to_string(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    dir
}

/// Import keeps ids, timestamps and hashes, reports and skips bad records,
/// runs again without change, and the imported users and sessions work.
async fn import_takes_over_flask_files(storage: Storage) {
    // A user already in the target with an email the import also brings.
    add_user(&storage, "taken@example.com", "mine").await;
    let folder = flask_folder();
    let report = import(folder.path(), &storage, |_| {})
        .await
        .unwrap_or_else(|e| panic!("import failed: {e}"));
    assert_eq!(
        (report.users_imported, report.sessions_imported),
        (3, 1),
        "{report}"
    );
    assert_eq!(report.skipped.len(), 2, "{report}");
    assert!(
        report.skipped.iter().any(|s| s.contains("not-a-uuid")),
        "{report}"
    );
    assert!(
        report
            .skipped
            .iter()
            .any(|s| s.contains("7f1c2a8e-0c1d-4f5e-8a9b-0c1d2e3f4a5b")),
        "{report}"
    );

    let id = UserId::parse("0b7f1e5c-4b0a-4e39-9d1b-2d7c6a8f0e11").unwrap_or_else(|| panic!("id"));
    let old = storage
        .users
        .get(&id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("imported user missing"));
    assert_eq!(
        old.created_at.format("%Y-%m-%dT%H:%M:%S").to_string(),
        "2020-02-03T04:05:06"
    );
    assert!(
        old.password_hash.needs_upgrade(),
        "the legacy hash is kept as it was"
    );

    let again = import(folder.path(), &storage, |_| {})
        .await
        .unwrap_or_else(|e| panic!("second import failed: {e}"));
    assert_eq!(
        (again.users_imported, again.sessions_imported),
        (0, 0),
        "{again}"
    );
    assert_eq!(
        (again.users_present, again.sessions_present),
        (3, 1),
        "{again}"
    );
    assert_eq!(storage.users.count().await.ok(), Some(4));

    let client = TestClient::new(session_auth::http_endpoint(&settings(), &storage, &infra()));
    // The Flask session's raw token still works as a cookie.
    let me = client
        .get("/api/v1/users/me")
        .header(
            "Cookie",
            "_my_session_id=a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
        )
        .send()
        .await;
    me.assert_status_is_ok();
    // The legacy password logs in and is upgraded.
    login_cookie(&client, "old@flask.io", "flask-pw").await;
    let upgraded = storage
        .users
        .get(&id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("user gone"));
    assert!(matches!(upgraded.password_hash, PasswordHash::Argon2id(_)));

    // Emails differing only in case: each logs in with its own exactly;
    // one matching both but neither exactly names no one.
    for (email, id) in [
        ("case@flask.io", "1c8f2e6d-5c1b-4f4a-8e2c-3e8d7b9f1f22"),
        ("Case@Flask.io", "2d9f3f7e-6d2c-4a5b-9f3d-4f9e8c0a2a33"),
    ] {
        let reply = client
            .post("/api/v1/auth_session/login")
            .content_type("application/x-www-form-urlencoded")
            .body(format!("email={email}&password=flask-pw"))
            .send()
            .await;
        reply.assert_status_is_ok();
        reply.assert_json(serde_json::json!({
            "id": id,
            "email": email,
            "first_name": null,
            "last_name": null,
            "created_at": if id.starts_with("1c") { "2020-02-04T04:05:06" } else { "2020-02-05T04:05:06" },
            "updated_at": if id.starts_with("1c") { "2020-02-04T04:05:06" } else { "2020-02-05T04:05:06" },
        })).await;
    }
    let ambiguous = client
        .post("/api/v1/auth_session/login")
        .content_type("application/x-www-form-urlencoded")
        .body("email=CASE@FLASK.IO&password=flask-pw")
        .send()
        .await;
    ambiguous.assert_status(poem::http::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sqlite_session_request_is_one_round_trip() {
    session_request_is_one_round_trip(TestDatabase::sqlite()).await;
}

#[tokio::test]
async fn import_into_sqlite() {
    let db = TestDatabase::sqlite();
    import_takes_over_flask_files(Storage::sql(db.store().await)).await;
}

#[tokio::test]
async fn import_into_memory() {
    import_takes_over_flask_files(Storage::of(MemoryStore::new())).await;
}

#[tokio::test]
async fn import_into_file_storage() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let journal = JournalSettings {
        compact_bytes: 16 * 1024 * 1024,
        compact_age: std::time::Duration::from_secs(600),
    };
    let store = FileStore::open_with(dir.path(), journal)
        .await
        .unwrap_or_else(|e| panic!("open: {e}"));
    import_takes_over_flask_files(Storage::of(store)).await;
}

#[cfg(postgres_tests)]
mod postgres {
    use super::*;
    use integration_tests::sql_database::sql_options;
    use integration_tests::tcp_proxy::TcpProxy;
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn session_request_is_one_round_trip() {
        super::session_request_is_one_round_trip(TestDatabase::postgres().await).await;
    }

    #[tokio::test]
    async fn import_into_postgres() {
        let db = TestDatabase::postgres().await;
        import_takes_over_flask_files(Storage::sql(db.store().await)).await;
    }

    /// `sslmode` in the URL is obeyed by every connection the store opens
    /// (the pool's and the session look-up's own): `disable` never
    /// encrypts, `require` always does (when the server offers TLS at all).
    #[tokio::test(flavor = "multi_thread")]
    async fn sslmode_in_the_url_decides_whether_every_connection_is_encrypted() {
        use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

        let db = TestDatabase::postgres().await;
        let admin = db.store().await;
        let server_tls = admin
            .connection()
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Postgres,
                "SHOW ssl",
            ))
            .await
            .ok()
            .flatten()
            .and_then(|row| row.try_get_by_index::<String>(0).ok())
            .is_some_and(|on| on == "on");
        let modes: &[&str] = if server_tls {
            &["disable", "require"]
        } else {
            &["disable"]
        };
        for mode in modes {
            let mut url = url::Url::parse(&db.url).unwrap_or_else(|e| panic!("{e}"));
            let name = format!("sslmode_{mode}");
            url.query_pairs_mut()
                .append_pair("sslmode", mode)
                .append_pair("application_name", &name);
            let store = adapter_seaorm::SqlStore::connect(&sql_options(url.to_string()))
                .await
                .unwrap_or_else(|e| panic!("connect with sslmode={mode}: {e}"));
            // Opens a connection of the session look-up's own.
            let nobody = domain::SessionKey::digest_of("nobody");
            let found = domain::SessionRepository::find_with_user(&store, &nobody, &store)
                .await
                .unwrap_or_else(|e| panic!("look-up with sslmode={mode}: {e}"));
            assert!(found.is_none());
            // Runs on a pool connection, which counts itself.
            let rows = store
                .connection()
                .query_all_raw(Statement::from_string(
                    DatabaseBackend::Postgres,
                    format!(
                        "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
                         WHERE a.application_name = '{name}'"
                    ),
                ))
                .await
                .unwrap_or_else(|e| panic!("pg_stat_ssl: {e}"));
            let encrypted: Vec<bool> = rows
                .iter()
                .map(|row| {
                    row.try_get_by_index::<bool>(0)
                        .unwrap_or_else(|e| panic!("{e}"))
                })
                .collect();
            assert!(encrypted.len() >= 2, "sslmode={mode}: {encrypted:?}");
            assert!(
                encrypted.iter().all(|tls| *tls == (*mode == "require")),
                "sslmode={mode}: connections encrypted: {encrypted:?}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn requests_get_503_while_the_database_is_away_and_recover_when_it_returns() {
        let db = TestDatabase::postgres().await;
        db.store().await; // migrated, directly
        let mut url = url::Url::parse(&db.url).unwrap_or_else(|e| panic!("{e}"));
        let target = format!(
            "{}:{}",
            url.host_str().unwrap_or("127.0.0.1"),
            url.port().unwrap_or(5432)
        );
        let target = tokio::net::lookup_host(target)
            .await
            .ok()
            .and_then(|mut a| a.next())
            .unwrap_or_else(|| panic!("resolve"));
        let proxy = TcpProxy::start(target).await;
        let _ = url.set_host(Some("127.0.0.1"));
        let _ = url.set_port(Some(proxy.local.port()));
        let store = adapter_seaorm::SqlStore::connect(&adapter_seaorm::SqlOptions {
            acquire_timeout: Duration::from_secs(1),
            ..sql_options(url.to_string())
        })
        .await
        .unwrap_or_else(|e| panic!("connect through the proxy: {e}"));
        let storage = Storage::sql(store);
        add_user(&storage, "ann@example.com", "pw").await;
        let client = TestClient::new(session_auth::http_endpoint(&settings(), &storage, &infra()));
        let cookie = login_cookie(&client, "ann@example.com", "pw").await;
        client
            .get("/api/v1/users/me")
            .header("Cookie", &cookie)
            .send()
            .await
            .assert_status_is_ok();

        proxy.cut();
        for path in ["/api/v1/users/me", "/api/v1/users", "/api/v1/stats"] {
            let down = client.get(path).header("Cookie", &cookie).send().await;
            down.assert_status(poem::http::StatusCode::SERVICE_UNAVAILABLE);
            down.assert_json(json!({"error": "Service unavailable"}))
                .await;
        }

        proxy.restore();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let back = client
                .get("/api/v1/users/me")
                .header("Cookie", &cookie)
                .send()
                .await;
            if back.0.status().is_success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the service did not recover within 15 s of the database's return"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
