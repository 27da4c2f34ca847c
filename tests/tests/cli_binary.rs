//! The real `session-auth` binary, run as an operator runs it: settings
//! refused at start, a damaged data file, the data directory lock, the
//! `user create` command, `--help`, and a server that answers over TCP and
//! stops cleanly on SIGTERM.
//!
//! # Where the binary comes from
//!
//! Cargo builds a package's binaries only for that package's own
//! integration tests, and this crate is not `app`. The binary is therefore
//! looked up where cargo puts it, next to this test's executable
//! (`<target dir>/<profile>/session-auth`), after running
//! `cargo build -p app --bin session-auth` once for the same target dir
//! and profile (a no-op when it is up to date, so a stale binary is never
//! tested). Set `SESSION_AUTH_BIN` to test a given binary instead. If the
//! binary cannot be found or built, every test here fails saying so.
//!
//! Requests go over a plain `TcpStream` (HTTP/1.1, `Connection: close`);
//! no HTTP client is needed.

#![cfg(unix)]

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Every setting the binary reads from the environment; each test starts
/// from none of them set, so the developer's shell cannot change a result.
const SETTINGS: [&str; 16] = [
    "API_HOST",
    "API_PORT",
    "AUTH_TYPE",
    "SESSION_NAME",
    "SESSION_DURATION",
    "COOKIE_SECURE",
    "STORAGE",
    "DATA_DIR",
    "DATABASE_URL",
    "DB_POOL_SIZE",
    "AUTO_MIGRATE",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "SHUTDOWN_TIMEOUT",
    "RUST_LOG",
    "NO_COLOR",
];

/// How long a command that must fail at start may take.
const QUICK: Duration = Duration::from_secs(30);

// ------------------------------------------------------------- the binary

fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(locate_or_build)
}

fn locate_or_build() -> PathBuf {
    if let Some(path) = std::env::var_os("SESSION_AUTH_BIN") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "SESSION_AUTH_BIN={} is not a file",
            path.display()
        );
        return path;
    }
    let exe = std::env::current_exe()
        .unwrap_or_else(|e| panic!("cannot find this test's executable: {e}"));
    // <target dir>/<profile>/deps/cli_binary-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("unexpected test executable path {}", exe.display()));
    let path = profile_dir.join(format!("session-auth{}", std::env::consts::EXE_SUFFIX));
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--quiet", "-p", "app", "--bin", "session-auth"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(target_dir) = profile_dir.parent() {
        build.env("CARGO_TARGET_DIR", target_dir);
    }
    match profile {
        "debug" => {}
        "release" => {
            build.arg("--release");
        }
        other => {
            build.args(["--profile", other]);
        }
    }
    let built = build.status();
    assert!(
        path.is_file(),
        "the session-auth binary is not at {} and `cargo build -p app --bin session-auth` \
         did not produce it ({built:?}); build it first (`cargo build -p app`) or set \
         SESSION_AUTH_BIN",
        path.display()
    );
    if !matches!(&built, Ok(status) if status.success()) {
        eprintln!(
            "warning: `cargo build -p app` failed ({built:?}); testing the existing {}",
            path.display()
        );
    }
    path
}

/// `session-auth` with none of the settings in its environment.
fn session_auth(args: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command.args(args).stdin(Stdio::null());
    for name in SETTINGS {
        command.env_remove(name);
    }
    command
}

// ------------------------------------------------------- running commands

/// What a finished process left.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Finished {
    fn describe(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Collects a pipe on a thread, so a chatty child never blocks on it.
fn collect(pipe: Option<impl Read + Send + 'static>) -> (Arc<Mutex<String>>, JoinHandle<()>) {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    let handle = std::thread::spawn(move || {
        let Some(mut pipe) = pipe else { return };
        let mut buffer = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buffer) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    });
    (text, handle)
}

fn snapshot(text: &Arc<Mutex<String>>) -> String {
    text.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Runs `command` to its end; kills it and fails if it takes longer than
/// `limit`.
fn run(mut command: Command, limit: Duration) -> Finished {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary().display()));
    let (stdout, out_thread) = collect(child.stdout.take());
    let (stderr, err_thread) = collect(child.stderr.take());
    let status = wait_for_exit(&mut child, limit).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "{command:?} still ran after {limit:?}\n--- stderr\n{}",
            snapshot(&stderr)
        )
    });
    let _ = out_thread.join();
    let _ = err_thread.join();
    Finished {
        status,
        stdout: snapshot(&stdout),
        stderr: snapshot(&stderr),
    }
}

fn wait_for_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(25)),
            _ => return None,
        }
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

// ---------------------------------------------------------------- servers

/// A running `session-auth serve`, killed if a test ends without stopping
/// it.
struct Server {
    child: Child,
    port: u16,
    stderr: Arc<Mutex<String>>,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    /// Starts the server on `data_dir` with file storage and `env`, and
    /// waits until it accepts connections.
    fn start(data_dir: &Path, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut command = session_auth(&["serve"]);
        command
            .env("API_HOST", "127.0.0.1")
            .env("API_PORT", port.to_string())
            .env("STORAGE", "file")
            .env("DATA_DIR", data_dir)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary().display()));
        let (_stdout, out_thread) = collect(child.stdout.take());
        let (stderr, err_thread) = collect(child.stderr.take());
        let mut server = Self {
            child,
            port,
            stderr,
            threads: vec![out_thread, err_thread],
        };
        server.wait_until_listening();
        server
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the server exited at start ({status:?})\n--- stderr\n{}",
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the server did not listen on port {} within a minute\n--- stderr\n{}",
                self.port,
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stderr(&self) -> String {
        snapshot(&self.stderr)
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> HttpReply {
        http_get(self.port, path, headers)
    }

    /// Sends SIGTERM and waits for the exit.
    fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(
            matches!(sent, Ok(s) if s.success()),
            "kill -TERM {pid}: {sent:?}"
        );
        let status = wait_for_exit(&mut self.child, Duration::from_secs(30)).unwrap_or_else(|| {
            panic!(
                "the server still ran 30 s after SIGTERM\n--- stderr\n{}",
                self.stderr()
            )
        });
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        status
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A response read off the wire.
#[derive(Debug)]
struct HttpReply {
    status: u16,
    head: String,
    body: String,
}

impl HttpReply {
    /// The value of a header (name case-insensitive).
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then_some(v.trim())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.head, self.body))
    }
}

/// `GET path` over a fresh connection.
fn http_get(port: u16, path: &str, headers: &[(&str, &str)]) -> HttpReply {
    http_request(port, "GET", path, headers, "")
}

/// `method path` with `body` over a fresh connection.
fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpReply {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("cannot connect to port {port}: {e}"));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream
        .write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("cannot send the request: {e}"));
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("cannot read the response: {e}"));
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers in {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    HttpReply {
        status,
        head: head.to_owned(),
        body: if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

fn data_dir() -> TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("no temporary directory: {e}"))
}

/// `serve` on a fresh data directory and a free port, with `env` on top:
/// a command that must fail before listening.
fn serve_expecting_failure(env: &[(&str, &str)]) -> Finished {
    let dir = data_dir();
    let mut command = session_auth(&["serve"]);
    command
        .env("API_HOST", "127.0.0.1")
        .env("API_PORT", free_port().to_string())
        .env("STORAGE", "file")
        .env("DATA_DIR", dir.path())
        .envs(env.iter().copied());
    let finished = run(command, QUICK);
    assert!(
        !finished.status.success(),
        "the server started with {env:?}\n{}",
        finished.describe()
    );
    finished
}

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
    let mut command = session_auth(&["user", "create", "--email", "a@b", "--password", "x"]);
    command.env("DATA_DIR", dir.path());
    let finished = run(command, Duration::from_secs(60));
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

    let mut again = session_auth(&["user", "create", "--email", "a@b", "--password", "y"]);
    again.env("DATA_DIR", dir.path());
    let duplicate = run(again, Duration::from_secs(60));
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

/// While one server holds a data directory, a second `session-auth` on it
/// (server or operator command) exits non-zero with the lock message, and
/// the first keeps serving.
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

    let mut create = session_auth(&["user", "create", "--email", "c@d", "--password", "x"]);
    create.env("DATA_DIR", dir.path());
    let refused = run(create, QUICK);
    assert!(!refused.status.success(), "{}", refused.describe());
    assert!(
        refused
            .stderr
            .contains("another session-auth process is using"),
        "{}",
        refused.describe()
    );

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
    let mut create = session_auth(&["user", "create", "--email", "a@b", "--password", "p w:x"]);
    create.env("DATA_DIR", dir.path());
    let created = run(create, Duration::from_secs(60));
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
