//! The operator commands while a server runs: on file storage the server
//! that holds the folder carries them out over its admin socket; on SQL
//! storage they open the database beside it. Writers on both sides at
//! once lose nothing and see each other's changes, and a server that does
//! not answer is explained without an API call that needs a signed-in
//! user.

#![cfg(unix)]

use crate::support;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use support::*;

const SLOW: Duration = Duration::from_secs(120);

/// `session-auth ARGS` with `env` (the storage) and `input` on stdin.
fn command(args: &[&str], env: &[(&str, &str)], input: &str) -> Finished {
    let mut command = session_auth(args);
    command.envs(env.iter().copied());
    run_with_input(command, input, SLOW)
}

fn file_env(dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("STORAGE", "file".to_owned()),
        ("DATA_DIR", dir.display().to_string()),
    ]
}

fn as_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn succeeded(finished: Finished) -> String {
    assert!(finished.status.success(), "{}", finished.describe());
    finished.stdout
}

/// The handles `sessions list` printed for `email`.
fn handles(list: &str, email: &str) -> Vec<String> {
    list.lines()
        .filter(|line| line.starts_with(&format!("{email}\t")))
        .filter_map(|line| line.split('\t').nth(1).map(str::to_owned))
        .collect()
}

#[test]
fn a_server_started_on_an_empty_folder_is_administered_from_the_cli() {
    let dir = data_dir();
    let env = file_env(dir.path());
    let env = as_refs(&env);
    let server = Server::start(dir.path(), &[]);

    // The socket is the server's user's only.
    let socket = dir.path().join(".session-auth.admin.sock");
    let meta = std::fs::symlink_metadata(&socket).expect("the server made its admin socket");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    let empty = succeeded(command(&["user", "list"], &env, ""));
    assert_eq!(empty.lines().count(), 1, "only the header: {empty}");

    let create = [
        "user",
        "create",
        "--email",
        "ann@example.com",
        "--password-stdin",
    ];
    let id = succeeded(command(&create, &env, "first secret\n"))
        .trim()
        .to_owned();
    let duplicate = command(&create, &env, "other\n");
    assert!(!duplicate.status.success());
    assert!(
        duplicate.stderr.contains("already exists"),
        "{}",
        duplicate.describe()
    );

    // The server sees the user at once: two logins, two sessions.
    let first = server.login("ann@example.com", "first secret");
    assert_eq!(first.status, 200, "{first:?}");
    let second = server.login("ann@example.com", "first secret");
    assert_eq!(second.status, 200, "{second:?}");
    let (first, second) = (first.cookie_pair(), second.cookie_pair());

    let listed = succeeded(command(&["user", "list"], &env, ""));
    assert!(listed.contains(&id), "{listed}");
    let shown = succeeded(command(&["user", "show", "ann@example.com"], &env, ""));
    assert!(shown.contains("sessions    2"), "{shown}");

    // One session ends by its handle; the other stays.
    let sessions = succeeded(command(&["sessions", "list"], &env, ""));
    let listed_handles = handles(&sessions, "ann@example.com");
    assert_eq!(listed_handles.len(), 2, "{sessions}");
    let me = |cookie: &str| {
        server
            .request("GET", "/api/v1/users/me", &[("Cookie", cookie)], "")
            .status
    };
    assert_eq!(me(&first), 200);
    assert_eq!(me(&second), 200);
    let revoked = succeeded(command(
        &["sessions", "revoke", "--handle", &listed_handles[0]],
        &env,
        "",
    ));
    assert!(revoked.contains(&listed_handles[0]), "{revoked}");
    assert_eq!(
        [me(&first), me(&second)]
            .iter()
            .filter(|s| **s == 200)
            .count(),
        1,
        "exactly one session ended"
    );
    let again = command(
        &["sessions", "revoke", "--handle", &listed_handles[0]],
        &env,
        "",
    );
    assert!(!again.status.success());
    assert!(
        again.stderr.contains("no live session has the handle"),
        "{}",
        again.describe()
    );

    // A new password ends the other session and is the one that works.
    succeeded(command(
        &[
            "user",
            "set-password",
            "ann@example.com",
            "--password-stdin",
        ],
        &env,
        "second secret\n",
    ));
    assert_ne!(me(&first), 200);
    assert_ne!(me(&second), 200);
    assert_eq!(server.login("ann@example.com", "second secret").status, 200);
    let granted = succeeded(command(&["user", "grant-admin", &id], &env, ""));
    assert!(granted.contains("is now an administrator"), "{granted}");

    // Deleting asks first; without a terminal, only --yes deletes.
    let unconfirmed = command(&["user", "delete", &id], &env, "y\n");
    assert!(!unconfirmed.status.success());
    assert!(
        unconfirmed.stderr.contains("--yes"),
        "{}",
        unconfirmed.describe()
    );
    succeeded(command(&["user", "delete", &id, "--yes"], &env, ""));
    assert_eq!(server.login("ann@example.com", "second secret").status, 404);

    // The server logged the changes as the operator's; never the password.
    let log = server.stop();
    for event in [
        "user_created",
        "sessions_revoked",
        "password_changed",
        "user_promoted",
        "user_deleted",
    ] {
        assert!(
            log.lines()
                .any(|line| line.contains(event) && line.contains("actor=operator")),
            "no {event} by the operator in\n{log}"
        );
    }
    assert!(!log.contains("second secret"), "{log}");
    assert!(!socket.exists(), "the socket is removed at shutdown");

    // What the server wrote is the folder's state.
    let after = succeeded(command(&["user", "list"], &env, ""));
    assert_eq!(after.lines().count(), 1, "{after}");
}

/// `count` threads each run `work(i)` at the same time.
fn at_once<T: Send + 'static>(
    count: usize,
    work: impl Fn(usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let work = std::sync::Arc::new(work);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(count));
    let threads: Vec<_> = (0..count)
        .map(|i| {
            let (work, barrier) = (work.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                work(i)
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("a writer panicked"))
        .collect()
}

/// Users created at the same time by CLI commands and HTTP requests, and
/// a user deleted by each side: every acknowledged change is seen by both
/// sides and is in the storage afterwards.
fn writers_on_both_sides(env: Vec<(&'static str, String)>, data_dir: &Path) {
    const EACH: usize = 6;
    let secret_file = data_dir.join("bootstrap-password");
    std::fs::write(&secret_file, "admin secret\n").expect("write the secret");
    let secret_path = secret_file.display().to_string();
    let mut server_env = as_refs(&env);
    server_env.push(("BOOTSTRAP_EMAIL", "admin@example.com"));
    server_env.push(("BOOTSTRAP_PASSWORD_FILE", &secret_path));
    let server = Server::start(data_dir, &server_env);
    let cookie = server
        .login("admin@example.com", "admin secret")
        .cookie_pair();
    for doomed in ["doomed-by-cli@example.com", "doomed-by-http@example.com"] {
        let created = server.request(
            "POST",
            "/api/v1/users",
            &[("Cookie", &cookie), ("Content-Type", "application/json")],
            &format!(r#"{{"email":"{doomed}","password":"pw"}}"#),
        );
        assert_eq!(created.status, 201, "{created:?}");
    }
    let doomed_by_http = {
        let users = server.get("/api/v1/users", &[("Cookie", &cookie)]).json();
        users
            .as_array()
            .and_then(|all| {
                all.iter()
                    .find(|u| u["email"] == "doomed-by-http@example.com")
            })
            .and_then(|u| u["id"].as_str())
            .expect("the user to delete over HTTP")
            .to_owned()
    };

    let port = server.port;
    let cli_env = env.clone();
    let outcomes = at_once(2 * EACH + 2, move |i| -> Result<(), String> {
        if i < EACH {
            let finished = command(
                &[
                    "user",
                    "create",
                    "--email",
                    &format!("cli-{i}@example.com"),
                    "--password-stdin",
                ],
                &as_refs(&cli_env),
                "cli secret\n",
            );
            finished
                .status
                .success()
                .then_some(())
                .ok_or_else(|| finished.describe())
        } else if i < 2 * EACH {
            let reply = http_request(
                port,
                "POST",
                "/api/v1/users",
                &[("Cookie", &cookie), ("Content-Type", "application/json")],
                &format!(r#"{{"email":"http-{i}@example.com","password":"http secret"}}"#),
            );
            (reply.status == 201)
                .then_some(())
                .ok_or_else(|| format!("{reply:?}"))
        } else if i == 2 * EACH {
            let finished = command(
                &["user", "delete", "doomed-by-cli@example.com", "--yes"],
                &as_refs(&cli_env),
                "",
            );
            finished
                .status
                .success()
                .then_some(())
                .ok_or_else(|| finished.describe())
        } else {
            let reply = http_request(
                port,
                "DELETE",
                &format!("/api/v1/users/{doomed_by_http}"),
                &[("Cookie", &cookie)],
                "",
            );
            (reply.status == 200)
                .then_some(())
                .ok_or_else(|| format!("{reply:?}"))
        }
    });
    for outcome in outcomes {
        outcome.unwrap_or_else(|e| panic!("a writer failed: {e}"));
    }

    let mut expected: Vec<String> = (0..EACH)
        .map(|i| format!("cli-{i}@example.com"))
        .chain((EACH..2 * EACH).map(|i| format!("http-{i}@example.com")))
        .collect();
    expected.push("admin@example.com".into());
    expected.sort();
    let cookie = server
        .login("admin@example.com", "admin secret")
        .cookie_pair();
    let over_http = server.get("/api/v1/users", &[("Cookie", &cookie)]).json();
    let mut seen_by_http: Vec<String> = over_http
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|u| u["email"].as_str().map(str::to_owned))
        .collect();
    seen_by_http.sort();
    assert_eq!(seen_by_http, expected, "the server sees the CLI's changes");
    let emails = |list: &str| {
        let mut emails: Vec<String> = list
            .lines()
            .skip(1)
            .filter_map(|line| line.split('\t').nth(1).map(str::to_owned))
            .collect();
        emails.sort();
        emails
    };
    let listed = succeeded(command(&["user", "list"], &as_refs(&env), ""));
    assert_eq!(emails(&listed), expected, "the CLI sees the API's changes");
    // The CLI's users log in over HTTP, and the CLI ends one of their
    // sessions by its handle: the server refuses it at the next request.
    let first = server.login("cli-0@example.com", "cli secret");
    assert_eq!(first.status, 200, "{first:?}");
    let second = server.login("cli-0@example.com", "cli secret");
    assert_eq!(second.status, 200, "{second:?}");
    let (one, other) = (first.cookie_pair(), second.cookie_pair());
    let me = |cookie: &str| {
        server
            .request("GET", "/api/v1/users/me", &[("Cookie", cookie)], "")
            .status
    };
    assert_eq!((me(&one), me(&other)), (200, 200));
    let sessions = succeeded(command(
        &["sessions", "list", "--user", "cli-0@example.com"],
        &as_refs(&env),
        "",
    ));
    let listed = handles(&sessions, "cli-0@example.com");
    assert_eq!(listed.len(), 2, "{sessions}");
    succeeded(command(
        &["sessions", "revoke", "--handle", &listed[0]],
        &as_refs(&env),
        "",
    ));
    let mut statuses = [me(&one), me(&other)];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 403], "exactly one session ended");

    server.stop();
    let stored = succeeded(command(&["user", "list"], &as_refs(&env), ""));
    assert_eq!(emails(&stored), expected, "every change is in the storage");
}

#[test]
fn cli_and_http_writers_at_once_on_file_storage_lose_nothing() {
    let dir = data_dir();
    writers_on_both_sides(file_env(dir.path()), dir.path());
}

#[test]
fn cli_and_http_writers_at_once_on_sqlite_lose_nothing() {
    let dir = data_dir();
    let url = format!("sqlite://{}/session-auth.db?mode=rwc", dir.path().display());
    writers_on_both_sides(
        vec![("STORAGE", "sqlite".into()), ("DATABASE_URL", url)],
        dir.path(),
    );
}

#[cfg(postgres_tests)]
#[tokio::test(flavor = "multi_thread")]
async fn cli_and_http_writers_at_once_on_postgres_lose_nothing() {
    let db = integration_tests::sql_database::TestDatabase::postgres().await;
    let dir = data_dir();
    let url = db.url.clone();
    let path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        writers_on_both_sides(
            vec![("STORAGE", "postgres".into()), ("DATABASE_URL", url)],
            &path,
        )
    })
    .await
    .expect("the writers ran");
}

/// A process that holds the folder's lock without answering on the admin
/// socket (a server of an older version, or one still loading): the
/// command waits ADMIN_SOCKET_TIMEOUT, then says what to do, and the way
/// it suggests needs no signed-in user.
#[test]
fn a_holder_that_does_not_answer_is_explained_without_an_api_call() {
    let dir = data_dir();
    let lock = dir.path().join(".session-auth.lock");
    std::fs::write(&lock, "").expect("the lock file");
    let mut holder = std::process::Command::new("flock")
        .arg("--exclusive")
        .arg(&lock)
        .args(["sleep", "60"])
        .stdin(Stdio::null())
        .spawn()
        .expect("flock(1) runs");
    // flock takes the lock before it runs sleep; wait until it has.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let probe = std::process::Command::new("flock")
            .args(["--nonblock", "--exclusive"])
            .arg(&lock)
            .arg("true")
            .status()
            .expect("flock(1) runs");
        if !probe.success() || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut env = file_env(dir.path());
    env.push(("ADMIN_SOCKET_TIMEOUT", "1".into()));
    let refused = command(&["user", "list"], &as_refs(&env), "");
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(!refused.status.success(), "{}", refused.describe());
    assert!(
        refused
            .stderr
            .contains("did not answer on its admin socket")
            && refused.stderr.contains("stop the server"),
        "{}",
        refused.describe()
    );
    assert!(
        !refused.stderr.contains("/api/"),
        "no API call suggested: {}",
        refused.describe()
    );
}

/// A socket file a killed server left behind does not stop the next one.
#[test]
fn a_socket_left_by_a_killed_server_is_replaced() {
    let dir = data_dir();
    let env = file_env(dir.path());
    let env = as_refs(&env);
    let first = Server::start(dir.path(), &[]);
    drop(first); // SIGKILL: no clean shutdown, the socket file stays
    assert!(dir.path().join(".session-auth.admin.sock").exists());
    let second = Server::start(dir.path(), &[]);
    succeeded(command(
        &[
            "user",
            "create",
            "--email",
            "b@example.com",
            "--password-stdin",
        ],
        &env,
        "pw\n",
    ));
    assert_eq!(second.login("b@example.com", "pw").status, 200);
    second.stop();
}

/// The admin socket answers a request it cannot read with an error, and
/// keeps serving the commands that follow.
#[test]
fn the_admin_socket_refuses_what_is_not_a_command_and_keeps_serving() {
    use std::io::{Read, Write};
    let dir = data_dir();
    let env = file_env(dir.path());
    let env = as_refs(&env);
    let server = Server::start(dir.path(), &[]);
    let socket = dir.path().join(".session-auth.admin.sock");
    for request in [
        "not json\n".to_owned(),
        "{\"operation\":\"drop_everything\"}\n".to_owned(),
        format!("{}\n", "x".repeat(100_000)),
    ] {
        let mut stream =
            std::os::unix::net::UnixStream::connect(&socket).expect("the socket answers");
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        // The server may answer an over-long request before reading it all.
        let _ = stream.write_all(request.as_bytes());
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        let answer: serde_json::Value = serde_json::from_str(&answer)
            .unwrap_or_else(|e| panic!("not a JSON answer ({e}): {answer:?}"));
        assert!(answer["error"].is_string(), "{answer}");
    }
    let listed = succeeded(command(&["user", "list"], &env, ""));
    assert_eq!(listed.lines().count(), 1, "{listed}");
    server.stop();
}

/// Another user who reaches the socket (its mode loosened by hand) is
/// refused by the server, which checks the peer's uid.
#[test]
fn the_admin_socket_serves_only_the_servers_user() {
    let dir = data_dir();
    let server = Server::start(dir.path(), &[]);
    for (path, mode) in [
        (dir.path().to_path_buf(), 0o755),
        (dir.path().join(".session-auth.lock"), 0o666),
        (dir.path().join(".session-auth.admin.sock"), 0o666),
    ] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .expect("loosen the mode");
    }
    // The test runs as root (the server's user); `nobody` is another.
    let mut as_nobody = std::process::Command::new("setpriv");
    as_nobody
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(binary())
        .args(["user", "list"])
        .env_clear()
        .env("STORAGE", "file")
        .env("DATA_DIR", dir.path())
        .stdin(Stdio::null());
    let refused = run(as_nobody, QUICK);
    assert!(!refused.status.success(), "{}", refused.describe());
    assert!(
        refused.stderr.contains("only to the user it runs as"),
        "{}",
        refused.describe()
    );
    let log = server.stop();
    assert!(
        log.contains("refused a connection from another user"),
        "{log}"
    );
}

/// `import` needs the folder to itself: while a server holds it, the
/// import changes nothing and says to stop the server (no API call).
#[test]
fn an_import_into_a_served_folder_says_to_stop_the_server() {
    let source = data_dir();
    std::fs::write(
        source.path().join(".db_User.json"),
        r#"{"User.1": {"id": "1", "email": "old@example.com", "_password": "x", "first_name": null, "last_name": null, "created_at": "2020-01-01T00:00:00", "updated_at": "2020-01-01T00:00:00"}}"#,
    )
    .expect("a Flask users file");
    let dir = data_dir();
    let env = file_env(dir.path());
    let server = Server::start(dir.path(), &[]);
    let from = source.path().display().to_string();
    let refused = command(&["import", "--from", &from], &as_refs(&env), "");
    assert!(!refused.status.success(), "{}", refused.describe());
    assert!(
        refused.stderr.contains("stop the server") && !refused.stderr.contains("/api/"),
        "{}",
        refused.describe()
    );
    let listed = succeeded(command(&["user", "list"], &as_refs(&env), ""));
    assert_eq!(listed.lines().count(), 1, "nothing imported: {listed}");
    server.stop();
}

/// `user delete` on a terminal shows the user and deletes only on `y`
/// (here through the server that holds the folder).
#[test]
fn user_delete_on_a_terminal_asks_first() {
    let dir = data_dir();
    let env = file_env(dir.path());
    let env = as_refs(&env);
    let server = Server::start(dir.path(), &[]);
    succeeded(command(
        &[
            "user",
            "create",
            "--email",
            "d@example.com",
            "--password-stdin",
        ],
        &env,
        "pw\n",
    ));
    // script(1) gives the command a terminal, fed with `answer`.
    let on_a_terminal = |answer: &str| {
        let line = format!("{} user delete d@example.com", binary().display());
        let mut script = std::process::Command::new("script");
        script
            .args(["--quiet", "--return", "--command", &line, "/dev/null"])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("STORAGE", "file")
            .env("DATA_DIR", dir.path());
        run_with_input(script, answer, SLOW)
    };
    let declined = on_a_terminal("n\n");
    assert!(!declined.status.success(), "{}", declined.describe());
    assert!(
        declined.stdout.contains("d@example.com") && declined.stdout.contains("[y/N]"),
        "the user is shown before the question: {}",
        declined.describe()
    );
    assert!(
        declined.stdout.contains("nothing was deleted"),
        "{}",
        declined.describe()
    );
    assert_eq!(server.login("d@example.com", "pw").status, 200);

    let confirmed = on_a_terminal("y\n");
    assert!(confirmed.status.success(), "{}", confirmed.describe());
    assert!(
        confirmed.stdout.contains("deleted d@example.com"),
        "{}",
        confirmed.describe()
    );
    assert_eq!(server.login("d@example.com", "pw").status, 404);
    server.stop();
}
