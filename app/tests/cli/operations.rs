//! What an operator runs into with the real binary: the probes and the
//! Prometheus metrics outside the gate, request ids, security events in
//! the logs, a bootstrap user on memory storage, and a bad `LOG_LEVEL`.

#![cfg(unix)]

use crate::support;

use serde_json::Value;
use std::io::Write;
use support::*;

const EMAIL: &str = "ops@example.com";
const PASSWORD: &str = "B00tstrap-Secret";

/// A password file for BOOTSTRAP_PASSWORD_FILE, in `dir`.
fn password_file(dir: &std::path::Path) -> String {
    let path = dir.join("bootstrap-password");
    let mut file = std::fs::File::create(&path).expect("password file created");
    writeln!(file, "{PASSWORD}").expect("password file written");
    path.display().to_string()
}

fn value_of(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

/// On memory storage a bootstrap user can log in; the probes answer
/// without credentials; `/metrics` (METRICS=true) is Prometheus text that
/// a parser reads, with requests by route and status, latencies, logins by
/// outcome, live sessions and the Argon2 queue.
#[test]
fn memory_server_with_bootstrap_user_serves_probes_and_metrics() {
    let dir = data_dir();
    let file = password_file(dir.path());
    let server = Server::start(
        dir.path(),
        &[
            ("STORAGE", "memory"),
            ("METRICS", "true"),
            ("BOOTSTRAP_EMAIL", EMAIL),
            ("BOOTSTRAP_PASSWORD_FILE", &file),
        ],
    );
    let health = server.get("/healthz", &[]);
    assert_eq!(health.status, 200, "{health:?}");
    let ready = server.get("/readyz", &[]);
    assert_eq!(ready.status, 200, "{ready:?}");
    assert_eq!(ready.json()["status"], "ready");

    assert_eq!(server.login(EMAIL, "wrong").status, 401);
    let login = server.login(EMAIL, PASSWORD);
    assert_eq!(login.status, 200, "{login:?}");
    let cookie = login.cookie_pair();
    let user = "/api/v1/users/".to_owned() + login.json()["id"].as_str().unwrap();
    assert_eq!(server.get(&user, &[("Cookie", &cookie)]).status, 200);

    let metrics = server.get("/metrics", &[]);
    assert_eq!(metrics.status, 200, "{metrics:?}");
    assert!(
        metrics
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{}",
        metrics.head
    );
    let lines = metrics.body.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    let requests = |route: &str, status: &str| {
        value_of(
            &scrape,
            "session_auth_http_requests_total",
            &[("route", route), ("status", status)],
        )
    };
    assert_eq!(
        requests("/api/v1/auth_session/login", "401"),
        Some(1.0),
        "{}\n{:?}",
        metrics.body,
        scrape.samples.first()
    );
    assert_eq!(requests("/api/v1/auth_session/login", "200"), Some(1.0));
    assert_eq!(requests("/api/v1/users/:user_id", "200"), Some(1.0));
    assert!(
        scrape.samples.iter().any(|s| s
            .metric
            .starts_with("session_auth_http_request_duration_seconds")),
        "no latency histogram:\n{}",
        metrics.body
    );
    let logins = |outcome| {
        value_of(
            &scrape,
            "session_auth_logins_total",
            &[("outcome", outcome)],
        )
    };
    assert_eq!(logins("success"), Some(1.0));
    assert_eq!(logins("failure"), Some(1.0));
    assert_eq!(
        value_of(&scrape, "session_auth_live_sessions", &[]),
        Some(1.0)
    );
    assert_eq!(
        value_of(&scrape, "session_auth_argon2_queue_depth", &[]),
        Some(0.0)
    );
    assert!(value_of(&scrape, "session_auth_throttled_attempts_total", &[]).is_some());
    assert!(value_of(&scrape, "session_auth_storage_errors_total", &[]).is_some());
    server.stop();
}

/// Without METRICS, `/metrics` is absent (404), not behind the gate.
#[test]
fn metrics_are_off_by_default() {
    let dir = data_dir();
    let server = Server::start(dir.path(), &[("STORAGE", "memory")]);
    assert_eq!(server.get("/metrics", &[]).status, 404);
    assert_eq!(server.get("/healthz", &[]).status, 200);
    server.stop();
}

/// Starting twice with the same bootstrap settings keeps one user, and the
/// password never appears in the logs.
#[test]
fn bootstrap_is_idempotent_and_never_logs_the_password() {
    let dir = data_dir();
    let file = password_file(dir.path());
    let env = [
        ("BOOTSTRAP_EMAIL", EMAIL),
        ("BOOTSTRAP_PASSWORD_FILE", file.as_str()),
        ("LOG_LEVEL", "trace"),
    ];
    let mut logs = String::new();
    for _ in 0..2 {
        let server = Server::start(dir.path(), &env);
        assert_eq!(server.login(EMAIL, PASSWORD).status, 200);
        logs.push_str(&server.stop());
    }
    let users: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(".db_User.json")).unwrap())
            .unwrap();
    assert_eq!(users.as_object().map(|o| o.len()), Some(1), "{users}");
    assert!(
        !logs.contains(PASSWORD),
        "the bootstrap password was logged"
    );
}

/// The access line carries the request id (the client's, echoed), the
/// client address and the user; logins and logouts are security events
/// with an `event` field.
#[test]
fn access_lines_carry_request_id_client_and_user_and_events_are_logged() {
    let dir = data_dir();
    let file = password_file(dir.path());
    let server = Server::start(
        dir.path(),
        &[
            ("STORAGE", "memory"),
            ("LOG_FORMAT", "json"),
            ("BOOTSTRAP_EMAIL", EMAIL),
            ("BOOTSTRAP_PASSWORD_FILE", &file),
        ],
    );
    assert_eq!(server.login(EMAIL, "wrong").status, 401);
    let login = server.login(EMAIL, PASSWORD);
    let user_id = login.json()["id"].as_str().unwrap().to_owned();
    let cookie = login.cookie_pair();
    let me = server.get(
        "/api/v1/users/me",
        &[("Cookie", &cookie), ("X-Request-Id", "trace-me-42")],
    );
    assert_eq!(me.status, 200);
    assert_eq!(me.header("x-request-id"), Some("trace-me-42"));
    let fresh = server.get("/api/v1/status", &[("X-Request-Id", "bad id\"{}")]);
    let generated = fresh.header("x-request-id").unwrap_or_default().to_owned();
    assert!(uuid::Uuid::try_parse(&generated).is_ok(), "{}", fresh.head);
    let out = server.request(
        "DELETE",
        "/api/v1/auth_session/logout",
        &[("Cookie", &cookie)],
        "",
    );
    assert_eq!(out.status, 200);
    let logs = server.stop();
    let events: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let access = events
        .iter()
        .find(|e| e["request_id"] == "trace-me-42")
        .unwrap_or_else(|| panic!("no access line with the request id:\n{logs}"));
    assert_eq!(access["path"], "/api/v1/users/me", "{access}");
    assert_eq!(access["user_id"], Value::from(user_id.clone()), "{access}");
    assert_eq!(access["client"], "127.0.0.1", "{access}");
    let event = |name: &str| {
        events
            .iter()
            .find(|e| e["event"] == name)
            .unwrap_or_else(|| panic!("no {name} event:\n{logs}"))
            .clone()
    };
    assert_eq!(event("login_failed")["email"], EMAIL);
    assert_eq!(
        event("login_succeeded")["user_id"],
        Value::from(user_id.clone())
    );
    assert_eq!(event("logout")["user_id"], Value::from(user_id));
    assert!(!logs.contains(PASSWORD));
}

/// A LOG_LEVEL that is no level refuses to start, naming the variable; the
/// help's example filter logs requests.
#[test]
fn a_bad_log_level_refuses_to_start_and_the_help_examples_work() {
    for bad in ["verbose", "session_auth=loud"] {
        let finished = serve_expecting_failure(&[("LOG_LEVEL", bad)]);
        assert!(
            finished.stderr.contains("LOG_LEVEL"),
            "LOG_LEVEL={bad}: {}",
            finished.describe()
        );
    }
    let dir = data_dir();
    let server = Server::start(
        dir.path(),
        &[
            ("STORAGE", "memory"),
            ("LOG_LEVEL", "warn,session_auth::access=info"),
        ],
    );
    assert_eq!(server.get("/api/v1/users", &[]).status, 401);
    let logs = server.stop();
    assert!(logs.contains("/api/v1/users"), "{logs}");
}
