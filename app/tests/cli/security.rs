//! Security properties of the real binary: what its logs never contain,
//! and (on PostgreSQL) a brute-force limit shared by instances.

use crate::support;

use support::{QUICK, Server, data_dir, run_with_input, session_auth};

/// A login flow logged at trace level (every crate, storage included)
/// leaves no password, hash, token or token digest in the output.
#[test]
fn a_full_login_flow_at_trace_level_logs_no_secret() {
    let dir = data_dir();
    let password = "Tr4ce-Secret-Pa55";
    let new_password = "N3w-Tr4ce-Secret";
    let mut create = session_auth(&[
        "user",
        "create",
        "--email",
        "trace@example.com",
        "--password-stdin",
    ]);
    create.env("STORAGE", "file").env("DATA_DIR", dir.path());
    let created = run_with_input(create, password, QUICK);
    assert!(created.status.success(), "{}", created.describe());

    let server = Server::start(
        dir.path(),
        &[("LOG_LEVEL", "trace"), ("AUTH_TYPE", "session_db_auth")],
    );
    let wrong = server.login("trace@example.com", "Wr0ng-Guess-Pa55");
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    let login = server.login("trace@example.com", password);
    assert_eq!(login.status, 200, "{}", login.body);
    let cookie = login.cookie_pair();
    let token = cookie
        .split_once('=')
        .map(|(_, t)| t.to_owned())
        .unwrap_or_default();
    assert!(!token.is_empty());
    let me = server.request("GET", "/api/v1/users/me", &[("Cookie", &cookie)], "");
    assert_eq!(me.status, 200);
    let changed = server.request(
        "PUT",
        "/api/v1/users/me/password",
        &[("Cookie", &cookie), ("Content-Type", "application/json")],
        &format!(r#"{{"current_password": "{password}", "new_password": "{new_password}"}}"#),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    // The security events of user administration and session revocation.
    let created_password = "Cr3ated-Secret-Pa55";
    let created = server.request(
        "POST",
        "/api/v1/users",
        &[("Cookie", &cookie), ("Content-Type", "application/json")],
        &format!(r#"{{"email": "other@example.com", "password": "{created_password}"}}"#),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let other = created.json()["id"].as_str().unwrap_or_default().to_owned();
    let deleted = server.request(
        "DELETE",
        &format!("/api/v1/users/{other}"),
        &[("Cookie", &cookie)],
        "",
    );
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let revoked = server.request(
        "DELETE",
        "/api/v1/auth_session/sessions?keep_current=true",
        &[("Cookie", &cookie)],
        "",
    );
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let out = server.request(
        "DELETE",
        "/api/v1/auth_session/logout",
        &[("Cookie", &cookie)],
        "",
    );
    assert_eq!(out.status, 200);
    let logs = server.stop();

    let users = std::fs::read_to_string(dir.path().join(".db_User.json")).unwrap_or_default();
    let hash: serde_json::Value = serde_json::from_str(&users).unwrap_or_default();
    let stored_hash = hash
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(|u| u["_password"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(stored_hash.starts_with("$argon2id$"), "{users}");
    assert!(
        logs.contains("request"),
        "trace logging produced no request lines:\n{logs}"
    );
    for event in [
        "login_failed",
        "login_succeeded",
        "password_changed",
        "user_created",
        "user_deleted",
        "sessions_revoked",
        "logout",
    ] {
        assert!(
            logs.contains(event),
            "no {event} event in the logs:\n{logs}"
        );
    }
    assert!(
        !logs.contains("Cr3ated-Secret-Pa55"),
        "a created user's password appears in the logs"
    );
    let digest = domain::SessionKey::digest_of(&token);
    for (what, secret) in [
        ("the password", password),
        ("the new password", new_password),
        ("a wrong password", "Wr0ng-Guess-Pa55"),
        ("the stored hash", stored_hash.as_str()),
        ("an Argon2 hash", "$argon2id$"),
        ("the session token", token.as_str()),
        ("the token's digest", digest.as_str()),
    ] {
        assert!(!logs.contains(secret), "{what} appears in the logs");
    }
}

#[cfg(postgres_tests)]
mod postgres {
    use super::*;
    use integration_tests::sql_database::TestDatabase;

    /// Failures spread over two instances add up to one account limit, and
    /// restarting an instance does not reset the count; the owner, from
    /// another address, gets in after at most one back-off.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_account_limit_is_shared_by_instances_and_survives_a_restart() {
        let db = TestDatabase::postgres_empty().await;
        let url = db.url.clone();
        let env = [
            ("STORAGE", "postgres"),
            ("DATABASE_URL", url.as_str()),
            ("THROTTLE_ACCOUNT_FAILURES", "4"),
            ("THROTTLE_ADDRESS_FAILURES", "100"),
            ("THROTTLE_BACKOFF", "1"),
            ("TRUST_FORWARDED_FOR", "true"),
        ];
        let mut create = session_auth(&[
            "user",
            "create",
            "--email",
            "own@example.com",
            "--password-stdin",
        ]);
        create.envs(env);
        let created = run_with_input(create, "right-pw", QUICK);
        assert!(created.status.success(), "{}", created.describe());

        let dir = data_dir();
        let first = Server::start(dir.path(), &env);
        let second = Server::start(dir.path(), &env);
        let attempt = |server: &Server, from: &str, password: &str| {
            server.request(
                "POST",
                "/api/v1/auth_session/login",
                &[
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("X-Forwarded-For", from),
                ],
                &format!("email=own@example.com&password={password}"),
            )
        };
        for server in [&first, &first, &second, &second] {
            assert_eq!(attempt(server, "203.0.113.66", "guess").status, 401);
        }
        let last_failure = std::time::Instant::now();
        let blocked = attempt(&first, "203.0.113.66", "right-pw");
        assert_eq!(
            blocked.status, 429,
            "4 failures over two instances reach the limit: {}",
            blocked.body
        );
        assert!(blocked.header("retry-after").is_some());

        drop(second);
        let second = Server::start(dir.path(), &env);
        assert_eq!(
            attempt(&second, "203.0.113.66", "right-pw").status,
            429,
            "a restart keeps the count"
        );

        // The owner, elsewhere, waits at most one back-off (1 s here) after
        // the last failure; the restart above usually took longer already.
        let backoff = std::time::Duration::from_millis(1100);
        std::thread::sleep(backoff.saturating_sub(last_failure.elapsed()));
        let owner = attempt(&second, "198.51.100.7", "right-pw");
        assert_eq!(owner.status, 200, "{}", owner.body);
        drop((first, second));
        db.drop_now().await;
    }
}
