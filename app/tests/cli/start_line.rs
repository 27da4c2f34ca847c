//! What the server says when it starts, as a newcomer reads it: a URL to
//! open, settings spelt as they are written, and the next step when no one
//! can sign in yet; and `/readyz` naming why the database is unreachable.

use std::time::{Duration, Instant};

use crate::support::{Server, data_dir, run_with_input, session_auth};

/// The server's log once it holds `text` (the start line comes just after
/// the port opens), or what it said within 10 s.
fn log_with(server: &Server, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = server.stderr();
        if log.contains(text) || Instant::now() > deadline {
            return log;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_first_run_says_where_to_click_and_how_to_create_the_first_user() {
    let dir = data_dir();
    let server = Server::start(dir.path(), &[("API_HOST", "0.0.0.0")]);
    let url = format!("http://127.0.0.1:{}/api/v1/docs", server.port);
    let log = log_with(&server, "session-auth user create");
    assert!(log.contains(&url), "{url} missing from\n{log}");
    assert!(log.contains("storage=file"), "{log}");
    assert!(log.contains("security_profile=compatible"), "{log}");
    assert!(
        log.contains("no user yet") && log.contains("session-auth user create --email"),
        "{log}"
    );
    assert!(log.contains("BOOTSTRAP_EMAIL"), "{log}");
    server.stop();

    let mut create = session_auth(&[
        "user",
        "create",
        "--email",
        "ann@example.com",
        "--password-stdin",
    ]);
    create.env("STORAGE", "file").env("DATA_DIR", dir.path());
    let created = run_with_input(create, "correct horse\n", Duration::from_secs(60));
    assert!(created.status.success(), "{}", created.describe());
    let server = Server::start(dir.path(), &[]);
    let log = log_with(&server, "listening on");
    assert!(log.contains("listening on"), "{log}");
    assert!(!log.contains("no user yet"), "{log}");
    server.stop();
}

#[test]
fn memory_storage_without_a_bootstrap_user_warns() {
    let dir = data_dir();
    let server = Server::start(dir.path(), &[("STORAGE", "memory")]);
    let log = log_with(&server, "STORAGE=memory and no user");
    assert!(log.contains("STORAGE=memory and no user"), "{log}");
    assert!(log.contains("BOOTSTRAP_EMAIL"), "{log}");
    assert!(log.contains("storage=memory"), "{log}");
    server.stop();
}

#[cfg(postgres_tests)]
#[tokio::test(flavor = "multi_thread")]
async fn readyz_names_the_cause_when_the_database_goes_away() {
    use integration_tests::sql_database::TestDatabase;
    use integration_tests::tcp_proxy::TcpProxy;
    use std::net::ToSocketAddrs;

    let db = TestDatabase::postgres_empty().await;
    let (scheme, rest) = db.url.split_once("://").unwrap();
    let (authority, tail) = rest.split_once('/').unwrap();
    let (user, host) = authority
        .rsplit_once('@')
        .map_or(("", authority), |(u, h)| (u, h));
    let target = host.to_socket_addrs().unwrap().next().unwrap();
    let proxy = TcpProxy::start(target).await;
    let at = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    let url = format!("{scheme}://{at}{}/{tail}", proxy.local);
    let dir = data_dir();
    let path = dir.path().to_owned();
    let server = tokio::task::spawn_blocking(move || {
        Server::start(&path, &[("STORAGE", "postgres"), ("DATABASE_URL", &url)])
    })
    .await
    .unwrap();
    let port = server.port;
    let ready = tokio::task::spawn_blocking(move || crate::support::http_get(port, "/readyz", &[]))
        .await
        .unwrap();
    assert!(ready.status == 200, "{}", ready.body);
    proxy.cut();
    let down = tokio::task::spawn_blocking(move || crate::support::http_get(port, "/readyz", &[]))
        .await
        .unwrap();
    assert_eq!(down.status, 503, "{}", down.body);
    let reason = down.json()["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        reason.starts_with("storage unavailable: ") && reason.len() > "storage unavailable: ".len(),
        "no cause in {reason:?}"
    );
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
}
