//! Running the real `session-auth` binary: start it with an environment,
//! wait until it answers, talk plain HTTP/1.1 to it, stop it.

#![allow(dead_code)] // each test file uses a different part

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_session-auth"));
    // Tests set what they need; nothing leaks in from the developer's shell.
    for var in [
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
    ] {
        command.env_remove(var);
    }
    command.stdin(Stdio::null());
    command
}

/// Runs the binary to completion.
pub fn run(args: &[&str], env: &[(&str, &str)], dir: &Path) -> Output {
    binary()
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running server, killed when dropped.
pub struct Server {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Server {
    /// Starts the binary with `env` on a free port and waits until
    /// `/api/v1/status` answers (at most 20 s).
    pub fn start(env: &[(&str, &str)], dir: &Path) -> Self {
        let port = free_port();
        let child = binary()
            .envs(env.iter().copied())
            .env("API_HOST", "127.0.0.1")
            .env("API_PORT", port.to_string())
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let mut server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = server.child.try_wait().expect("the child can be polled") {
                let mut stderr = String::new();
                if let Some(mut pipe) = server.child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                panic!("the server exited early ({status}): {stderr}");
            }
            if let Ok(response) = server.try_request("GET", "/api/v1/status", &[], "") {
                if response.status == 200 {
                    return server;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the server did not answer within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends one request; panics when the server cannot be reached.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Response {
        self.try_request(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> std::io::Result<Response> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(request.as_bytes())?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        Response::parse(&raw)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        self.child.wait().expect("the server exits")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
}

impl Response {
    fn parse(raw: &[u8]) -> std::io::Result<Self> {
        let text = String::from_utf8_lossy(raw);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {head:?}")))?;
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        Ok(Self {
            status,
            headers,
            body: body.to_owned(),
        })
    }

    /// The first header with this (lowercase) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    /// `name=value` of the session cookie set by this response.
    pub fn cookie(&self, name: &str) -> String {
        let set = self
            .header("set-cookie")
            .unwrap_or_else(|| panic!("no Set-Cookie in {self:?}"));
        let pair = set.split(';').next().unwrap_or_default().trim().to_owned();
        assert!(
            pair.starts_with(&format!("{name}=")),
            "unexpected cookie {set}"
        );
        pair
    }
}

/// A form-encoded login.
pub fn login(server: &Server, email: &str, password: &str) -> Response {
    server.request(
        "POST",
        "/api/v1/auth_session/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &format!("email={email}&password={password}"),
    )
}
