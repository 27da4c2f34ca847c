//! Real `session-auth` processes on one PostgreSQL database: several
//! instances act as one service; the start refuses an unreachable database
//! and a schema newer than the build. Compiled in only when
//! `TEST_DATABASE_URL` is set (then an unreachable server fails them).
#![cfg(postgres_tests)]

use crate::support;

use integration_tests::sql_database::{TestDatabase, test_database_url};
use sea_orm::{ConnectionTrait, Database};
use support::{Finished, QUICK, Server, data_dir, free_port, run, run_with_input, session_auth};

/// Runs `session-auth ARGS` with `env` to its end.
fn command(args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut command = session_auth(args);
    command.envs(env.iter().copied());
    run(command, QUICK)
}

fn env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("STORAGE", "postgres".into()),
        ("DATABASE_URL", url.into()),
        ("AUTH_TYPE", "session_db_auth".into()),
    ]
}

fn as_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_share_users_logins_and_logouts() {
    let db = TestDatabase::postgres_empty().await;
    let dir = data_dir();
    let env = env(&db.url);
    let mut create = session_auth(&[
        "user",
        "create",
        "--email",
        "ann@example.com",
        "--password-stdin",
    ]);
    create.envs(as_refs(&env));
    let created = run_with_input(create, "s3cret", QUICK);
    assert!(created.status.success(), "{}", created.describe());

    let first = Server::start(dir.path(), &as_refs(&env));
    let second = Server::start(dir.path(), &as_refs(&env));

    let logged_in = first.login("ann@example.com", "s3cret");
    assert_eq!(logged_in.status, 200, "{}", logged_in.body);
    let cookie = logged_in.cookie_pair();
    assert!(cookie.starts_with("_my_session_id="), "{cookie}");

    let me = second.request("GET", "/api/v1/users/me", &[("Cookie", &cookie)], "");
    assert_eq!(
        me.status, 200,
        "a login on one instance is valid on the other"
    );
    assert_eq!(me.json()["email"], "ann@example.com");

    // A user created through one instance is listed by the other.
    let created = second.request(
        "POST",
        "/api/v1/users",
        &[("Cookie", &cookie), ("Content-Type", "application/json")],
        r#"{"email": "bob@example.com", "password": "pw"}"#,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let stats = first.request("GET", "/api/v1/stats", &[("Cookie", &cookie)], "");
    assert_eq!(stats.json()["users"], 2);

    // The first instance has used the session a few times (so it keeps it
    // in its cache) before the second logs it out.
    for _ in 0..5 {
        let me = first.request("GET", "/api/v1/users/me", &[("Cookie", &cookie)], "");
        assert_eq!(me.status, 200);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = second.request(
        "DELETE",
        "/api/v1/auth_session/logout",
        &[("Cookie", &cookie)],
        "",
    );
    assert_eq!(out.status, 200);
    let after = first.request("GET", "/api/v1/users/me", &[("Cookie", &cookie)], "");
    assert_eq!(
        after.status, 403,
        "a logout on one instance is seen by the other at once"
    );

    drop((first, second));
    db.drop_now().await;
}

/// The CLI is another process on the database: what it changes reaches a
/// running server's session cache before its next request (the server
/// keeps sessions in memory by default on PostgreSQL).
#[tokio::test(flavor = "multi_thread")]
async fn the_clis_changes_reach_a_running_servers_sessions_at_once() {
    let db = TestDatabase::postgres_empty().await;
    let dir = data_dir();
    let env = env(&db.url);
    let cli = |args: &[&str], input: Option<&str>| {
        let mut command = session_auth(args);
        command.envs(as_refs(&env));
        let finished = match input {
            Some(input) => run_with_input(command, input, QUICK),
            None => run(command, QUICK),
        };
        assert!(finished.status.success(), "{}", finished.describe());
    };
    cli(
        &[
            "user",
            "create",
            "--email",
            "ann@example.com",
            "--password-stdin",
        ],
        Some("s3cret"),
    );
    let server = Server::start(dir.path(), &as_refs(&env));
    let me = |cookie: &str| {
        server
            .request("GET", "/api/v1/users/me", &[("Cookie", cookie)], "")
            .status
    };
    // Each session is used a few times first, so the server has it cached.
    let warm = |cookie: &str| {
        for _ in 0..5 {
            assert_eq!(me(cookie), 200);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };

    let cookie = server.login("ann@example.com", "s3cret").cookie_pair();
    warm(&cookie);
    cli(&["sessions", "revoke", "--user", "ann@example.com"], None);
    assert_eq!(me(&cookie), 403, "sessions revoked by the CLI");

    let cookie = server.login("ann@example.com", "s3cret").cookie_pair();
    warm(&cookie);
    cli(
        &[
            "user",
            "set-password",
            "ann@example.com",
            "--password-stdin",
        ],
        Some("n3w-secret"),
    );
    assert_eq!(
        me(&cookie),
        403,
        "a password set by the CLI ends the sessions"
    );

    let cookie = server.login("ann@example.com", "n3w-secret").cookie_pair();
    warm(&cookie);
    cli(&["user", "delete", "ann@example.com", "--yes"], None);
    assert_eq!(me(&cookie), 403, "a user deleted by the CLI");

    drop(server);
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_database_stops_the_start_naming_the_url_without_its_password() {
    let port = free_port().to_string();
    let url = format!("postgres://app:hunter2-secret@127.0.0.1:{port}/nowhere");
    let output = command(&[], &[("STORAGE", "postgres"), ("DATABASE_URL", &url)]);
    let stderr = &output.stderr;
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}/nowhere")),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2-secret"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_schema_newer_than_the_build_stops_the_start() {
    let db = TestDatabase::postgres_empty().await;
    let env = env(&db.url);
    let migrated = command(&["migrate"], &as_refs(&env));
    assert!(migrated.status.success(), "{}", migrated.describe());
    let conn = Database::connect(&db.url).await.expect("connect");
    conn.execute_unprepared("INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20990101_000001_from_the_future', 0)")
        .await
        .expect("fake a newer migration");

    let output = command(&[], &as_refs(&env));
    assert!(!output.status.success());
    assert!(output.stderr.contains("newer"), "{}", output.describe());
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_auto_migrate_an_outdated_schema_stops_the_start_and_migrate_fixes_it() {
    let db = TestDatabase::postgres_empty().await;
    let dir = data_dir();
    let mut env = env(&db.url);
    env.push(("AUTO_MIGRATE", "false".into()));
    let output = command(&[], &as_refs(&env));
    assert!(!output.status.success());
    assert!(
        output.stderr.contains("session-auth migrate"),
        "{}",
        output.describe()
    );

    let migrated = command(&["migrate"], &as_refs(&env));
    assert!(migrated.status.success(), "{}", migrated.describe());
    let server = Server::start(dir.path(), &as_refs(&env));
    assert_eq!(server.request("GET", "/api/v1/status", &[], "").status, 200);
    drop(server);
    db.drop_now().await;
}

/// `/readyz` answers 200 while the database answers and 503 with the
/// reason once it is gone, while `/healthz` (the process) stays 200; the
/// metrics count the storage errors.
#[tokio::test(flavor = "multi_thread")]
async fn readiness_follows_the_database() {
    let db = TestDatabase::postgres_empty().await;
    let dir = data_dir();
    let mut env = env(&db.url);
    env.push(("METRICS", "true".into()));
    let server = Server::start(dir.path(), &as_refs(&env));
    let ready = server.get("/readyz", &[]);
    assert_eq!(ready.status, 200, "{ready:?}");

    let admin = test_database_url();
    let name = db.postgres_name().unwrap_or_default().to_owned();
    db.drop_now().await;
    let conn = Database::connect(&admin)
        .await
        .expect("PostgreSQL reachable");
    let gone = conn
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
        ))
        .await
        .expect("pg_database readable");
    assert!(gone.is_none(), "the database was not dropped");

    let not_ready = server.get("/readyz", &[]);
    assert_eq!(not_ready.status, 503, "{not_ready:?}");
    assert_eq!(not_ready.json()["status"], "unavailable");
    assert!(
        not_ready.json()["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{not_ready:?}"
    );
    assert_eq!(server.get("/healthz", &[]).status, 200);
    let metrics = server.get("/metrics", &[]);
    assert!(
        metrics
            .body
            .lines()
            .any(|l| l.starts_with("session_auth_storage_errors_total ") && !l.ends_with(" 0")),
        "{}",
        metrics.body
    );
}
