"""Three instances on one PostgreSQL under faults (issue 18). Instance A
reaches the database through a TCP proxy the probe controls; B and C and
the CLI directly. Each trial: a user logs in on B, A and C answer
GET /users/me from their caches, a fault hits A, the session is ended (CLI
`sessions revoke`, a logout on B, or `DELETE /auth_session/sessions` on
B), and from the moment that end is acknowledged A and C are asked again
and again: any 200 for a request sent after the acknowledgement is a
violation. The faults:
- none: a healthy cluster (the fence's cost);
- second-end: A frozen; a first revoke runs, a second one (nothing left
  to delete) is the acknowledgement watched (hole 1 of the issue);
- clock-step: A's link slowed, every row of session_cache_listeners aged
  by an hour (as after a step of the database's clock; hole 2);
- frozen-link, rst, slow-link (0.5 s a chunk), frozen-listener (only A's
  LISTEN connection frozen; three revokes in a row, each timed);
- kill9 and sigstop (4 s) of A.
Write latencies (the ending operations' durations) per fault: p50, p99.
A round is one trial of every fault.
"""

import os
import signal
import subprocess
import threading
import time
import urllib.parse

from harness import PG_ADMIN, Server, Skip, psql, store, try_request, unique_email
from tcp_proxy import Proxy

NAME = "cluster-faults"
DEFAULT_ROUNDS = 1
FAULTS = ("none", "second-end", "clock-step", "frozen-link", "rst", "slow-link",
          "frozen-listener", "kill9", "sigstop")
# STRESS_CLUSTER_FAULTS=a,b runs only these (to chase one fault).
FAULTS = tuple(f for f in FAULTS
               if f in (os.environ.get("STRESS_CLUSTER_FAULTS") or ",".join(FAULTS)).split(","))
WATCH = 5.0  # seconds A and C are asked after an acknowledged end
POLLERS = 3  # concurrent askers per watched instance
PASSWORD = "faults-pw-1"


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Cluster:
    def __init__(self, ctx, st):
        pg = urllib.parse.urlparse(PG_ADMIN)
        self.proxy = Proxy(pg.port or 5432, pg.hostname or "127.0.0.1")
        user = pg.netloc.rsplit("@", 1)[0] + "@" if "@" in pg.netloc else ""
        # Plain text, so that the proxy can tell the LISTEN connection.
        proxied = f"{pg.scheme}://{user}127.0.0.1:{self.proxy.port}/{st.db}?sslmode=disable"
        self.binary = ctx.binary
        self.store = st
        # STRESS_CLUSTER_CACHE=0: every instance without its session cache
        # (SESSION_CACHE_SIZE=0), for the writes' latency without fences.
        cache = os.environ.get("STRESS_CLUSTER_CACHE")
        extra = {"SESSION_CACHE_SIZE": cache} if cache else {}
        self.caches = "0" if cache == "0" else "3"
        self.b = Server(ctx.binary, st, env=extra).start()  # migrates first
        self.c = Server(ctx.binary, st, env=extra).start()
        self.a = Server(ctx.binary, st, env={"DATABASE_URL": proxied, **extra}).start()
        self.email = unique_email("cf")
        self.b.user_create(self.email, PASSWORD)
        self.cli_env = dict(self.b.env)

    def close(self):
        for srv in (self.a, self.b, self.c):
            if srv.proc and srv.alive():
                try:
                    os.kill(srv.proc.pid, signal.SIGCONT)
                except OSError:
                    pass
                srv.kill9()
        self.proxy.close()

    def revoke(self):
        """`session-auth sessions revoke --user EMAIL`: (seconds, exit code)."""
        start = time.monotonic()
        out = subprocess.run([self.binary, "sessions", "revoke", "--user", self.email],
                             env=self.cli_env, capture_output=True, text=True, timeout=60)
        return time.monotonic() - start, out.returncode

    def login(self, srv):
        cookie, r = srv.login(self.email, PASSWORD)
        return cookie if r.status == 200 else None

    def cached_everywhere(self, cookie, deadline=20):
        """All three caches listed as live (so A's too, back from the last
        fault) and A and C answering the cookie."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            listed = psql("SELECT count(*) FROM session_cache_listeners", db=self.store.db)
            if listed == self.caches and all(
                    s.req("GET", "/users/me", cookie=cookie, timeout=3).status == 200
                    for s in (self.a, self.c, self.a, self.c)):
                return True
            time.sleep(0.2)
        return False

    def healthy(self, deadline=30):
        """A serves again: a login on A works on A."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            cookie = self.login(self.a)
            if cookie and self.a.req("GET", "/users/me", cookie=cookie, timeout=3).status == 200:
                return True
            time.sleep(0.3)
        return False


def watch(servers, cookie, acked, stop_at):
    """Asks each server for the cookie until `stop_at[0]` (a monotonic
    time the caller sets, at most a minute); the 200s answered to requests
    sent after `acked[0]` (set by the caller)."""
    found = []
    lock = threading.Lock()
    limit = time.monotonic() + 60

    def ask(srv):
        while time.monotonic() < (stop_at[0] or limit):
            sent = time.monotonic()
            r = try_request(srv.port, "GET", "/users/me", cookie=cookie, timeout=1.5)
            if r.status == 200 and acked[0] is not None and sent > acked[0]:
                with lock:
                    found.append((srv.port, round(sent - acked[0], 3)))
            if r.status == 0:
                time.sleep(0.05)

    threads = [threading.Thread(target=ask, args=(srv,), daemon=True)
               for srv in servers for _ in range(POLLERS)]
    for t in threads:
        t.start()
    return threads, found


def end_by(kind, cl, cookie):
    """Ends the session: (seconds, acknowledged?)."""
    if kind == "cli":
        took, code = cl.revoke()
        return took, code == 0
    start = time.monotonic()
    if kind == "logout":
        r = cl.b.req("DELETE", "/auth_session/logout", cookie=cookie, timeout=30)
    else:
        r = cl.b.req("DELETE", "/auth_session/sessions", cookie=cookie, timeout=30)
    return time.monotonic() - start, r.status == 200


def trial(fault, cl, report, latencies):
    """One trial; the violations found (empty when none)."""
    cookie = cl.login(cl.b)
    if not cookie or not cl.cached_everywhere(cookie):
        report.note(f"{fault}: could not set up a trial (login or caches); skipped")
        return None
    acked = [None]
    heal = []
    a_pid = cl.a.proc.pid
    if fault in ("second-end", "frozen-link"):
        cl.proxy.set("freeze")
    elif fault == "clock-step":
        cl.proxy.set("delay", 0.8)
        psql("UPDATE session_cache_listeners SET seen_at = seen_at - interval '1 hour'",
             db=cl.store.db)
    elif fault == "slow-link":
        cl.proxy.set("delay", 0.5)
    elif fault == "frozen-listener":
        cl.proxy.set("freeze-listener")
    elif fault == "rst":
        cl.proxy.set("reset")
        heal.append(threading.Timer(2.0, cl.proxy.heal))
    elif fault == "kill9":
        cl.a.kill9()
    elif fault == "sigstop":
        os.kill(a_pid, signal.SIGSTOP)
        heal.append(threading.Timer(4.0, lambda: os.kill(a_pid, signal.SIGCONT)))
    for t in heal:
        t.start()
    time.sleep(0.3)
    watched = [cl.a, cl.c] if fault != "kill9" else [cl.c]
    stop_at = [None]
    threads, found = watch(watched, cookie, acked, stop_at)
    ok = True
    if fault == "second-end":
        first = threading.Thread(target=lambda: latencies.append(cl.revoke()[0]), daemon=True)
        first.start()
        time.sleep(0.2)
        took, ok = end_by("cli", cl, cookie)
        acked[0] = time.monotonic()
        latencies.append(took)
        first.join(30)
    elif fault == "frozen-listener":
        time.sleep(0.5)
        for n in range(3):
            took, done = end_by("cli", cl, cookie)
            ok = ok and done
            if acked[0] is None:
                acked[0] = time.monotonic()
            latencies.append(took)
    else:
        kind = {"frozen-link": "logout", "slow-link": "logout", "none": "logout",
                "rst": "sessions"}.get(fault, "cli")
        took, ok = end_by(kind, cl, cookie)
        acked[0] = time.monotonic()
        latencies.append(took)
    stop_at[0] = acked[0] + WATCH
    # The askers stop WATCH seconds after the acknowledgement.
    while time.monotonic() < stop_at[0]:
        time.sleep(0.1)
    for t in heal:
        t.join(10)
    if fault == "sigstop":
        os.kill(a_pid, signal.SIGCONT)
    cl.proxy.heal()
    for t in threads:
        t.join(5)
    if not ok:
        report.note(f"{fault}: the ending operation was not acknowledged")
    if os.environ.get("STRESS_CLUSTER_LOG"):
        report.note(cl.a.log_tail(2000))
    if fault == "kill9":
        cl.a.start()
    if not cl.healthy():
        report.note(f"{fault}: A did not serve again within 30 s; restarting it")
        cl.a.kill9()
        cl.a.start()
    return [f for f in found if f[1] <= WATCH]


def run(ctx, report):
    if not ctx.has_postgres:
        raise Skip("PostgreSQL not reachable")
    rounds = ctx.rounds(DEFAULT_ROUNDS)
    with store("postgres") as st:
        cl = Cluster(ctx, st)
        try:
            results = {fault: ([], [], 0) for fault in FAULTS}
            for _ in range(rounds):
                for fault in FAULTS:
                    violations, latencies, trials = results[fault]
                    found = trial(fault, cl, report, latencies)
                    if found is None:
                        continue
                    violations.extend(found)
                    results[fault] = (violations, latencies, trials + 1)
            for fault in FAULTS:
                violations, latencies, trials = results[fault]
                report.note(
                    f"{fault:16} trials {trials:3}  violations {len(violations)}  "
                    f"write p50 {percentile(latencies, 0.5) * 1000:7.0f} ms  "
                    f"p99 {percentile(latencies, 0.99) * 1000:7.0f} ms  (n={len(latencies)})")
                report.check(trials > 0 and not violations,
                             f"{fault}: {trials} trial(s), no 200 after an acknowledged end"
                             + (f" (violations: port, seconds after: {violations[:5]})"
                                if violations else ""))
        finally:
            cl.close()
