//! Running the real `session-auth` binary as an operator does: a clean
//! environment, a server on a free port that is killed if a test ends
//! without stopping it, and plain HTTP/1.1 over a `TcpStream` (no HTTP
//! client needed).

#![allow(dead_code)] // some parts serve only the suites compiled in on Unix or with PostgreSQL

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long a command that must fail at start may take.
pub const QUICK: Duration = Duration::from_secs(30);

// ------------------------------------------------------------- the binary

pub fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_session-auth"))
}

/// `session-auth` with an empty environment, so neither the developer's
/// shell nor a setting added later can change a result.
pub fn session_auth(args: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command.args(args).stdin(Stdio::null()).env_clear();
    command
}

// ------------------------------------------------------- running commands

/// What a finished process left.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn describe(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Collects a pipe on a thread, so a chatty child never blocks on it.
pub fn collect(pipe: Option<impl Read + Send + 'static>) -> (Arc<Mutex<String>>, JoinHandle<()>) {
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

pub fn snapshot(text: &Arc<Mutex<String>>) -> String {
    text.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Runs `command` to its end; kills it and fails if it takes longer than
/// `limit`.
pub fn run(command: Command, limit: Duration) -> Finished {
    run_inner(command, None, limit)
}

/// [`run`] with `input` on standard input (then closed): how a password
/// reaches `--password-stdin`.
pub fn run_with_input(mut command: Command, input: &str, limit: Duration) -> Finished {
    command.stdin(Stdio::piped());
    run_inner(command, Some(input), limit)
}

fn run_inner(mut command: Command, input: Option<&str>, limit: Duration) -> Finished {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary().display()));
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        // A child that exits before reading (a refused command) closes
        // the pipe; that is its answer, not the test's failure.
        let _ = stdin.write_all(input.as_bytes());
    }
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

pub fn wait_for_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
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
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

// ---------------------------------------------------------------- servers

/// A running `session-auth serve`, killed if a test ends without stopping
/// it.
pub struct Server {
    child: Child,
    pub port: u16,
    pub stderr: Arc<Mutex<String>>,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    /// Starts the server on `data_dir` with file storage and `env`, and
    /// waits until it accepts connections.
    pub fn start(data_dir: &Path, env: &[(&str, &str)]) -> Self {
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

    pub fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // A connection to a port of the ephemeral range that nothing
            // listens on yet can connect to itself (TCP simultaneous open):
            // that is not the server.
            if let Ok(stream) = TcpStream::connect(("127.0.0.1", self.port))
                && stream.local_addr().ok() != stream.peer_addr().ok()
            {
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

    pub fn stderr(&self) -> String {
        snapshot(&self.stderr)
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> HttpReply {
        http_get(self.port, path, headers)
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(mut self) -> ExitStatus {
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

impl Server {
    /// Sends SIGTERM, waits for the exit, and returns everything the server
    /// wrote to standard error.
    pub fn stop(self) -> String {
        let stderr = self.stderr.clone();
        let status = self.terminate();
        assert!(status.success(), "the server exited with {status:?}");
        snapshot(&stderr)
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
pub struct HttpReply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl HttpReply {
    /// The value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then_some(v.trim())
        })
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.head, self.body))
    }
}

/// `GET path` over a fresh connection.
pub fn http_get(port: u16, path: &str, headers: &[(&str, &str)]) -> HttpReply {
    http_request(port, "GET", path, headers, "")
}

/// `method path` with `body` over a fresh connection.
pub fn http_request(
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

pub fn dechunk(mut body: &str) -> String {
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

pub fn data_dir() -> TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("no temporary directory: {e}"))
}

/// `serve` on a fresh data directory and a free port, with `env` on top:
/// a command that must fail before listening.
pub fn serve_expecting_failure(env: &[(&str, &str)]) -> Finished {
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

impl Server {
    /// `method path` with `body` to this server.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> HttpReply {
        http_request(self.port, method, path, headers, body)
    }

    /// A form login; the reply carries the session cookie on success.
    pub fn login(&self, email: &str, password: &str) -> HttpReply {
        self.request(
            "POST",
            "/api/v1/auth_session/login",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &format!("email={email}&password={password}"),
        )
    }
}

impl HttpReply {
    /// `name=value` of the cookie this reply sets (for a `Cookie` header).
    pub fn cookie_pair(&self) -> String {
        let set = self
            .header("set-cookie")
            .unwrap_or_else(|| panic!("no Set-Cookie in\n{}", self.head));
        set.split(';').next().unwrap_or_default().trim().to_owned()
    }
}
