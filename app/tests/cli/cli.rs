//! The real `session-auth` binary, run as an operator runs it: settings
//! refused at start, a damaged data file, the data directory lock, the
//! `user create` command, `--help`, and a server that answers over TCP and
//! stops cleanly on SIGTERM.
//!
//! The binary is the one cargo builds for this package's integration
//! tests (`CARGO_BIN_EXE_session-auth`, see [`support::binary`]), so it is
//! never stale.
//!
//! Requests go over a plain `TcpStream` (HTTP/1.1, `Connection: close`);
//! no HTTP client is needed.

#![cfg(unix)]

use crate::support;

use serde_json::Value;
use std::time::Duration;
use support::*;

// ------------------------------------------------------------------ tests

/// An `AUTH_TYPE` that names no policy stops the start, and the message
/// names the setting.
#[test]
fn unknown_auth_type_stops_the_start_naming_auth_type() {
    let finished = serve_expecting_failure(&[("AUTH_TYPE", "bogus")]);
    assert!(
        finished.stderr.contains("AUTH_TYPE"),
        "{}",
        finished.describe()
    );
    assert!(finished.stderr.contains("bogus"), "{}", finished.describe());
}

/// An unparsable `SESSION_DURATION` stops the start instead of meaning 0.
#[test]
fn unparsable_session_duration_stops_the_start() {
    for value in ["abc", "1.5", ""] {
        let finished = serve_expecting_failure(&[("SESSION_DURATION", value)]);
        assert!(
            finished.stderr.contains("SESSION_DURATION"),
            "SESSION_DURATION={value:?}: {}",
            finished.describe()
        );
    }
}

/// A truncated `.db_User.json` stops the start with a message naming the
/// file, the line and the column, and the file is left as it was.
#[test]
fn truncated_user_file_stops_the_start_naming_the_file_and_position() {
    let dir = data_dir();
    let truncated = b"{\n  \"5a6c4f8e-2a0c-4b8e-9a53-0c1c8f5e3d21\": {\n    \"id\": \"5a6c4f8e-2a0c-4b8e-9a53-0c1c8f5e3d21\",\n    \"email\": \"bob@hb";
    let path = dir.path().join(".db_User.json");
    std::fs::write(&path, truncated).unwrap_or_else(|e| panic!("cannot write: {e}"));
    let error = serde_json::from_slice::<Value>(truncated)
        .err()
        .unwrap_or_else(|| panic!("the fixture parses"));
    let (line, column) = (error.line(), error.column());

    let mut command = session_auth(&["serve"]);
    command
        .env("API_HOST", "127.0.0.1")
        .env("API_PORT", free_port().to_string())
        .env("STORAGE", "file")
        .env("DATA_DIR", dir.path());
    let finished = run(command, QUICK);
    assert!(!finished.status.success(), "{}", finished.describe());
    for needle in [
        ".db_User.json".to_owned(),
        format!("line {line}"),
        format!("column {column}"),
    ] {
        assert!(
            finished.stderr.contains(&needle),
            "no {needle:?} in the message: {}",
            finished.describe()
        );
    }
    let after = std::fs::read(&path).unwrap_or_default();
    assert_eq!(after, truncated, "the damaged file was changed");
}

/// `serve --help` documents every setting by its environment variable.
#[test]
fn serve_help_lists_every_setting() {
    let finished = run(session_auth(&["serve", "--help"]), QUICK);
    assert!(finished.status.success(), "{}", finished.describe());
    for name in [
        "API_HOST",
        "API_PORT",
        "AUTH_TYPE",
        "SESSION_NAME",
        "SESSION_DURATION",
        "STORAGE",
        "DATA_DIR",
        "COOKIE_SECURE",
    ] {
        assert!(
            finished.stdout.contains(name),
            "--help does not mention {name}: {}",
            finished.describe()
        );
    }
}

/// `user create` prints the new id and stores the user in DATA_DIR's
/// `.db_User.json` with an Argon2id hash; a duplicate is refused; a server
/// on that directory then lets the user in.
#[test]
fn user_create_prints_the_id_and_stores_the_user() {
    let dir = data_dir();
    let mut command = session_auth(&["user", "create", "--email", "a@b", "--password-stdin"]);
    command.env("DATA_DIR", dir.path());
    let finished = run_with_input(command, "x", Duration::from_secs(60));
    assert!(finished.status.success(), "{}", finished.describe());
    let id = finished.stdout.trim().to_owned();
    let uuid = uuid::Uuid::try_parse(&id)
        .unwrap_or_else(|e| panic!("not a UUID ({e}): {}", finished.describe()));
    assert_eq!(uuid.get_version_num(), 4, "{id}");

    let users: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(".db_User.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!(".db_User.json: {e}"));
    let record = &users[&id];
    assert_eq!(record["id"], Value::from(id.clone()), "{users}");
    assert_eq!(record["email"], Value::from("a@b"), "{users}");
    assert!(
        record["_password"]
            .as_str()
            .is_some_and(|h| h.starts_with("$argon2id$")),
        "{users}"
    );

    let mut again = session_auth(&["user", "create", "--email", "a@b", "--password-stdin"]);
    again.env("DATA_DIR", dir.path());
    let duplicate = run_with_input(again, "y", Duration::from_secs(60));
    assert!(!duplicate.status.success(), "{}", duplicate.describe());
    assert!(
        duplicate.stderr.contains("already exists"),
        "{}",
        duplicate.describe()
    );

    let server = Server::start(dir.path(), &[("AUTH_TYPE", "basic_auth")]);
    let me = server.get(
        "/api/v1/users/me",
        &[("Authorization", "Basic YUBiOng=")], // a@b:x
    );
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.json()["id"], Value::from(id));
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
}

/// The running server answers over TCP, guards the API by default
/// (unset `AUTH_TYPE` is `session_db_auth`, not "no authentication"), and
/// exits 0 after SIGTERM.
#[test]
fn running_server_answers_and_exits_zero_after_sigterm() {
    let dir = data_dir();
    let server = Server::start(dir.path(), &[]);
    let status = server.get("/api/v1/status", &[]);
    assert_eq!(status.status, 200, "{status:?}");
    assert_eq!(status.json(), serde_json::json!({"status": "OK"}));
    assert!(
        status
            .head
            .to_ascii_lowercase()
            .contains("access-control-allow-origin: *"),
        "{status:?}"
    );
    let users = server.get("/api/v1/users", &[]);
    assert_eq!(users.status, 401, "{users:?}");
    assert_eq!(users.json(), serde_json::json!({"error": "Unauthorized"}));
    let stderr_before = server.stderr();
    let exit = server.terminate();
    assert!(
        exit.success(),
        "exit after SIGTERM: {exit:?}\n{stderr_before}"
    );
}

/// While one server holds a data directory, a second server on it exits
/// non-zero with the lock message, and the first keeps serving (and
/// carries out an operator command sent to it).
#[test]
fn a_second_process_on_the_same_data_dir_exits_with_the_lock_message() {
    let dir = data_dir();
    let first = Server::start(dir.path(), &[("AUTH_TYPE", "session_db_auth")]);

    let mut second = session_auth(&["serve"]);
    second
        .env("API_HOST", "127.0.0.1")
        .env("API_PORT", free_port().to_string())
        .env("STORAGE", "file")
        .env("DATA_DIR", dir.path());
    let finished = run(second, QUICK);
    assert!(!finished.status.success(), "{}", finished.describe());
    assert!(
        finished
            .stderr
            .contains("another session-auth process is using"),
        "{}",
        finished.describe()
    );

    // An operator command is not a second process on the folder: the
    // server that holds it carries the command out.
    let mut create = session_auth(&[
        "user",
        "create",
        "--email",
        "c@example.com",
        "--password-stdin",
    ]);
    create.env("DATA_DIR", dir.path());
    let created = run_with_input(create, "x", QUICK);
    assert!(created.status.success(), "{}", created.describe());
    assert_eq!(first.login("c@example.com", "x").status, 200);

    let status = first.get("/api/v1/status", &[]);
    assert_eq!(status.status, 200, "{status:?}");
    let exit = first.terminate();
    assert!(exit.success(), "{exit:?}");

    // Once the first has stopped, the directory is free again.
    let third = Server::start(dir.path(), &[]);
    assert_eq!(third.get("/api/v1/status", &[]).status, 200);
    assert!(third.terminate().success());
}

/// `AUTH_TYPE=none` turns authentication off, and the server says so at
/// start.
#[test]
fn auth_type_none_is_announced_at_start() {
    let dir = data_dir();
    let server = Server::start(dir.path(), &[("AUTH_TYPE", "none")]);
    let users = server.get("/api/v1/users", &[]);
    assert_eq!(users.status, 200, "{users:?}");
    assert_eq!(users.json(), serde_json::json!([]));
    let stderr = server.stderr();
    assert!(stderr.contains("AUTH_TYPE=none"), "{stderr}");
    assert!(
        stderr
            .to_ascii_lowercase()
            .contains("authentication is off"),
        "{stderr}"
    );
    assert!(server.terminate().success());
}

/// The real server's session defaults: the cookie is `_my_session_id`,
/// lives 24 hours (unset `SESSION_DURATION`), and is `Secure` only when
/// `COOKIE_SECURE` says so.
#[test]
fn real_server_sets_the_default_session_cookie() {
    let dir = data_dir();
    let mut create = session_auth(&["user", "create", "--email", "a@b", "--password-stdin"]);
    create.env("DATA_DIR", dir.path());
    let created = run_with_input(create, "p w:x", Duration::from_secs(60));
    assert!(created.status.success(), "{}", created.describe());

    for (secure, expect_secure) in [(None, false), (Some("true"), true)] {
        let env: Vec<(&str, &str)> = secure.map(|v| ("COOKIE_SECURE", v)).into_iter().collect();
        let server = Server::start(dir.path(), &env);
        let login = http_request(
            server.port,
            "POST",
            "/api/v1/auth_session/login",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            "email=a%40b&password=p+w%3Ax",
        );
        assert_eq!(login.status, 200, "{login:?}");
        let cookie = login
            .header("set-cookie")
            .unwrap_or_else(|| panic!("no Set-Cookie: {login:?}"))
            .to_owned();
        assert!(cookie.starts_with("_my_session_id="), "{cookie}");
        let attributes: Vec<String> = cookie
            .split(';')
            .skip(1)
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        assert!(attributes.contains(&"max-age=86400".to_owned()), "{cookie}");
        assert!(attributes.contains(&"path=/".to_owned()), "{cookie}");
        assert!(attributes.contains(&"httponly".to_owned()), "{cookie}");
        assert_eq!(
            attributes.contains(&"secure".to_owned()),
            expect_secure,
            "{cookie}"
        );

        let pair = cookie.split(';').next().unwrap_or_default().to_owned();
        let me = server.get("/api/v1/users/me", &[("Cookie", &pair)]);
        assert_eq!(me.status, 200, "{me:?}");
        assert_eq!(me.json()["email"], Value::from("a@b"));
        assert!(server.terminate().success());
    }
}

/// `session-auth sessions prune` removes the sessions past
/// SESSION_DURATION from the storage and keeps the others.
#[test]
fn sessions_prune_removes_expired_sessions_from_the_storage() {
    let dir = data_dir();
    let user = "5a6c4f8e-2a0c-4b8e-9a53-0c1c8f5e3d21";
    let users = serde_json::json!({ user: {
        "id": user, "created_at": "2020-01-01T00:00:00", "updated_at": "2020-01-01T00:00:00",
        "email": "old@example.com", "_password": null, "first_name": null, "last_name": null
    }});
    let session = |id: &str, token: &str, at: &str| {
        serde_json::json!({
            "id": id, "created_at": at, "updated_at": at, "user_id": user, "session_id": token
        })
    };
    let old = "0f0e0d0c-0b0a-4909-8807-060504030201";
    let young = "1f0e0d0c-0b0a-4909-8807-060504030201";
    let sessions = serde_json::json!({
        old: session(old, "old-token", "2020-01-01T00:00:00"),
        young: session(young, "young-token", "2099-01-01T00:00:00"),
    });
    let write = |name: &str, value: &Value| {
        std::fs::write(dir.path().join(name), value.to_string())
            .unwrap_or_else(|e| panic!("cannot write {name}: {e}"));
    };
    write(".db_User.json", &users);
    write(".db_UserSession.json", &sessions);

    let mut prune = session_auth(&["sessions", "prune"]);
    prune
        .env("STORAGE", "file")
        .env("DATA_DIR", dir.path())
        .env("SESSION_DURATION", "60");
    let finished = run(prune, QUICK);
    assert!(finished.status.success(), "{}", finished.describe());
    assert!(
        finished.stdout.contains("removed 1 expired session"),
        "{}",
        finished.describe()
    );
    let left: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".db_UserSession.json")).unwrap_or_default(),
    )
    .unwrap_or_default();
    let ids: Vec<&String> = left
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(ids, [young], "{left}");
}

/// `LOG_FORMAT=json` writes one JSON object per line, and each request is a
/// structured event with its method, path and status.
#[test]
fn json_logs_are_one_object_per_line_with_request_fields() {
    let dir = data_dir();
    let server = Server::start(dir.path(), &[("LOG_FORMAT", "json")]);
    assert_eq!(server.get("/api/v1/users", &[]).status, 401);
    let logs = server.stop();
    let events: Vec<Value> = logs
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
        })
        .collect();
    let request = events
        .iter()
        .find(|e| e["path"] == "/api/v1/users")
        .unwrap_or_else(|| panic!("no request event in {logs}"));
    assert_eq!(request["method"], "GET", "{request}");
    assert_eq!(request["status"], 401, "{request}");
    assert!(
        events
            .iter()
            .any(|e| e["message"].as_str().is_some_and(|m| m.contains("stopped"))),
        "{logs}"
    );
}

/// A password is never taken from the command line: `--password` is not
/// an option of `user create` or `user set-password`, and nothing is
/// stored.
#[test]
fn passwords_are_never_taken_from_argv() {
    let dir = data_dir();
    for args in [
        &[
            "user",
            "create",
            "--email",
            "a@b",
            "--password",
            "secret-on-argv",
        ][..],
        &[
            "user",
            "set-password",
            "a@b",
            "--password",
            "secret-on-argv",
        ][..],
    ] {
        let mut command = session_auth(args);
        command.env("DATA_DIR", dir.path());
        let refused = run(command, QUICK);
        assert!(
            !refused.status.success(),
            "{args:?}: {}",
            refused.describe()
        );
        assert!(
            refused.stderr.contains("--password"),
            "{args:?}: {}",
            refused.describe()
        );
    }
    assert!(
        !dir.path().join(".db_User.json").exists(),
        "a user was stored from argv"
    );
}
