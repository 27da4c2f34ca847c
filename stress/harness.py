"""What every probe needs: the real binary as a child process, HTTP on
127.0.0.1, throwaway storage (folders, SQLite files, PostgreSQL databases)
and a record of what was tried and what held.

Standard library only. Every wait here is bounded by a timeout.
"""

import contextlib
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import uuid

HOST = "127.0.0.1"  # the only address any probe ever talks to
PG_ADMIN = os.environ.get("STRESS_PG", "postgres://postgres@127.0.0.1:5432")
STORAGES = ("memory", "file", "sqlite", "postgres")


class Skip(Exception):
    """A probe (or one of its parts) cannot run here; the message says why."""


class Report:
    """What one probe tried and what held. A check that does not hold makes
    the probe (and the suite) fail; a note is printed and changes nothing."""

    def __init__(self, name):
        self.name = name
        self.checks = []  # (ok, what)
        self.skips = []
        self.report_only = False

    def note(self, text):
        print(f"    {text}", flush=True)

    def check(self, ok, what):
        ok = bool(ok)
        self.checks.append((ok, what))
        print(f"  [{'ok' if ok else 'FAIL'}] {what}", flush=True)
        return ok

    def skip(self, what):
        self.skips.append(what)
        print(f"  [skip] {what}", flush=True)

    @property
    def failures(self):
        return [what for ok, what in self.checks if not ok]


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- HTTP


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def cookie(self, name="_my_session_id"):
        for key, value in self.headers:
            if key.lower() == "set-cookie" and value.startswith(name + "="):
                return value.split(";", 1)[0]
        return None

    def __repr__(self):
        return f"{self.status} {self.body[:120]!r}"


def request(port, method, path, *, json_body=None, form=None, raw=None,
            cookie=None, headers=None, timeout=30.0):
    """One request on a fresh connection. Raises OSError (refused, reset,
    timeout) when no answer came."""
    hdrs = {"Connection": "close"}
    body = None
    if json_body is not None:
        body = json.dumps(json_body).encode()
        hdrs["Content-Type"] = "application/json"
    elif form is not None:
        body = urllib.parse.urlencode(form).encode()
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    elif raw is not None:
        body = raw
        hdrs["Content-Type"] = "application/json"
    if cookie:
        hdrs["Cookie"] = cookie
    hdrs.update(headers or {})
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, "/api/v1" + path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return Response(resp.status, resp.getheaders(), resp.read())
    finally:
        conn.close()


def try_request(port, method, path, **kw):
    """As `request`, but a connection failure is an answer of status 0."""
    try:
        return request(port, method, path, **kw)
    except (OSError, http.client.HTTPException) as e:
        return Response(0, [], repr(e).encode())


# ---------------------------------------------------------------- storage


def psql(sql, db="postgres", timeout=30):
    out = subprocess.run(
        ["psql", f"{PG_ADMIN}/{db}", "-v", "ON_ERROR_STOP=1", "-tAqc", sql],
        capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"psql failed: {out.stderr.strip()}")
    return out.stdout.strip()


def postgres_available():
    try:
        psql("SELECT 1", timeout=10)
        return True
    except (OSError, RuntimeError, subprocess.TimeoutExpired):
        return False


class Store:
    """A throwaway place for one storage: a folder always (DATA_DIR, logs),
    plus a SQLite file or a PostgreSQL database. `close` removes all of it."""

    def __init__(self, kind, root=None):
        if kind not in STORAGES:
            raise ValueError(kind)
        self.kind = kind
        self.dir = tempfile.mkdtemp(prefix=f"stress-{kind}-", dir=root)
        self.data_dir = os.path.join(self.dir, "data")
        os.makedirs(self.data_dir)
        self.db = None
        self.url = None
        if kind == "sqlite":
            self.url = f"sqlite://{self.dir}/stress.db?mode=rwc"
        elif kind == "postgres":
            if not postgres_available():
                raise Skip(f"PostgreSQL not reachable at {PG_ADMIN}")
            self.db = "stress_" + uuid.uuid4().hex[:12]
            psql(f'CREATE DATABASE "{self.db}"')
            self.url = f"{PG_ADMIN}/{self.db}"

    def env(self):
        env = {"STORAGE": self.kind, "DATA_DIR": self.data_dir}
        if self.url:
            env["DATABASE_URL"] = self.url
        return env

    def close(self):
        if self.db:
            with contextlib.suppress(Exception):
                psql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def store(kind, root=None):
    s = Store(kind, root)
    try:
        yield s
    finally:
        s.close()


# ---------------------------------------------------------------- the server


BASE_ENV = {
    "API_HOST": HOST,
    "AUTH_TYPE": "session_db_auth",
    "LOG_LEVEL": "warn",
    # Probes fail passwords on purpose; the limiter is not under test here.
    "THROTTLE_ADDRESS_FAILURES": "1000000",
    "THROTTLE_ACCOUNT_FAILURES": "1000000",
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
}


class Server:
    """The binary serving on a free loopback port, its log in a file."""

    def __init__(self, binary, store, env=None, nofile=None, port=None):
        self.binary = binary
        self.store = store
        self.port = port or free_port()
        self.env = dict(BASE_ENV)
        self.env.update(store.env())
        self.env["API_PORT"] = str(self.port)
        if store.kind == "memory":
            # Nothing can create the first user of a memory store from
            # outside, so POST /users must be open.
            self.env["AUTH_TYPE"] = "none"
        self.env.update(env or {})
        self.nofile = nofile
        self.proc = None
        self.log_path = os.path.join(store.dir, f"server-{self.port}.log")
        self.starts = 0

    def _limits(self):
        if self.nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def start(self, timeout=60):
        self.starts += 1
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.binary, "serve"], env=self.env, stdout=log, stderr=log,
            stdin=subprocess.DEVNULL, preexec_fn=self._limits)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode} at start: {self.log_tail()}")
            r = try_request(self.port, "GET", "/status", timeout=2)
            if r.status == 200:
                return self
            time.sleep(0.05)
        self.kill9()
        raise RuntimeError(f"server not answering after {timeout}s: {self.log_tail()}")

    def user_create(self, email, password):
        """`session-auth user create` (the server must be stopped for file storage)."""
        out = subprocess.run(
            [self.binary, "user", "create", "--email", email, "--password-stdin"],
            input=password, env=self.env, capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"user create failed: {out.stderr.strip()}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait(timeout=30)

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill9()

    def rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n=600):
        return self.log()[-n:].strip()

    def panicked(self):
        return "panicked" in self.log()

    # -- requests
    def req(self, method, path, **kw):
        return try_request(self.port, method, path, **kw)

    def login(self, email, password):
        r = self.req("POST", "/auth_session/login", form={"email": email, "password": password})
        return r.cookie(), r


@contextlib.contextmanager
def serving(binary, store, env=None, nofile=None, admin=None):
    """A started server; with `admin=(email, password)` that user exists
    first (created with the CLI; over POST /users on memory storage)."""
    srv = Server(binary, store, env=env, nofile=nofile)
    try:
        if admin and store.kind != "memory":
            srv.user_create(*admin)
        srv.start()
        if admin and store.kind == "memory":
            srv.req("POST", "/users", json_body={"email": admin[0], "password": admin[1]})
        yield srv
    finally:
        if srv.proc:
            srv.kill9()


def unique_email(tag="u"):
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"
