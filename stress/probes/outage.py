"""Database outage (PostgreSQL): one server reaches the database through a
TCP proxy the probe controls (`stress/tcp_proxy.py`). Client threads keep
signing in, asking `GET /users/me`, listing users and creating users, on
fresh connections and on kept-alive ones, while the link is cut: every
connection reset and new ones refused ("reset"), or every byte held
("freeze"). Every request must get an HTTP answer: 200/201 (it got through
before the cut) or `503` with a JSON `error` body, never a closed
connection, another 5xx or a body that is not JSON. After the link heals
the same requests answer 200 again without a restart. A round is one cut
of each kind.
"""

import http.client
import json
import threading
import time
import urllib.parse

from harness import HOST, PG_ADMIN, Server, store, unique_email
from tcp_proxy import Proxy

NAME = "outage"
DEFAULT_ROUNDS = 1
# How long each cut lasts: a frozen link must outlast the wait for a pooled
# connection plus the statement timeout (5 s + 5 s), and a statement sent on
# a pooled connection before the cut is cut off only by REQUEST_TIMEOUT (15 s).
CUTS = (("reset", 8.0), ("freeze", 20.0))
CLIENTS = 6
PASSWORD = "outage-pw-1"


class Client:
    """One client thread's connection: a fresh one per request, or one kept
    alive across requests (re-opened only after the server closed it)."""

    def __init__(self, port, keep_alive):
        self.port = port
        self.keep_alive = keep_alive
        self.conn = None

    def send(self, method, path, body=None, headers=None):
        hdrs = dict(headers or {})
        if not self.keep_alive:
            hdrs["Connection"] = "close"
        if self.conn is None:
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            self.conn.request(method, "/api/v1" + path, body=body, headers=hdrs)
            resp = self.conn.getresponse()
            data = resp.read()
            closing = resp.getheader("Connection", "").lower() == "close"
            if not self.keep_alive or closing:
                self.close()
            return resp.status, data
        except (OSError, http.client.HTTPException) as e:
            self.close()
            return 0, repr(e).encode()

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def work(client, n, email, cookie):
    """The n-th request of a client: a mix of what clients do."""
    kind = n % 4
    if kind == 0:
        body = urllib.parse.urlencode({"email": email, "password": PASSWORD})
        return "login", client.send("POST", "/auth_session/login", body,
                                    {"Content-Type": "application/x-www-form-urlencoded"})
    if kind == 1:
        return "me", client.send("GET", "/users/me", headers={"Cookie": cookie})
    if kind == 2:
        return "list", client.send("GET", "/users", headers={"Cookie": cookie})
    body = json.dumps({"email": unique_email("o"), "password": PASSWORD})
    return "create", client.send("POST", "/users", body,
                                 {"Cookie": cookie, "Content-Type": "application/json"})


def acceptable(status, data):
    """An answer a client can act on during an outage."""
    if status in (200, 201):
        return True
    if status != 503:
        return False
    try:
        return isinstance(json.loads(data).get("error"), str)
    except (ValueError, AttributeError):
        return False


def run(ctx, report):
    for kind in ctx.storages(("postgres",)):
        with store(kind) as st:
            pg = urllib.parse.urlparse(PG_ADMIN)
            proxy = Proxy(pg.port or 5432, pg.hostname or "127.0.0.1")
            user = pg.netloc.rsplit("@", 1)[0] + "@" if "@" in pg.netloc else ""
            url = f"{pg.scheme}://{user}127.0.0.1:{proxy.port}/{st.db}?sslmode=disable"
            srv = Server(ctx.binary, st, env={"DATABASE_URL": url})
            try:
                email = unique_email("outage")
                srv.user_create(email, PASSWORD)
                srv.start()
                cookie, r = srv.login(email, PASSWORD)
                if not report.check(cookie, f"sign in before the outage ({r.status})"):
                    return
                for round_ in range(ctx.rounds(DEFAULT_ROUNDS)):
                    for cut, seconds in CUTS:
                        one_cut(report, srv, proxy, cut, seconds, round_, email, cookie)
                report.check(not srv.panicked(), "no panic in the server's log")
            finally:
                srv.kill9()
                proxy.close()


def one_cut(report, srv, proxy, cut, seconds, round_, email, cookie):
    phase = ["before"]
    tallies = {}  # (phase, what, status) -> count
    bad = []
    slowest = {}  # what -> longest answer, seconds
    lock = threading.Lock()
    stop = threading.Event()

    def client(i):
        c = Client(srv.port, keep_alive=(i % 2 == 1))
        n = i
        while not stop.is_set():
            here = phase[0]
            started = time.monotonic()
            what, (status, data) = work(c, n, email, cookie)
            took = time.monotonic() - started
            n += 1
            with lock:
                slowest[what] = max(slowest.get(what, 0.0), took)
                key = (here, what, status)
                tallies[key] = tallies.get(key, 0) + 1
                if here != "before" and not acceptable(status, data) and len(bad) < 20:
                    bad.append(f"{what} ({'kept-alive' if c.keep_alive else 'fresh'} connection, "
                               f"request {n - i}) during '{here}': {status} {data[:100]!r}")
        c.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    phase[0] = "cut"
    proxy.set(cut)
    time.sleep(seconds)
    phase[0] = "healing"
    proxy.heal()
    # Back within the pool's reconnect time: a fresh /users/me answers 200.
    deadline = time.monotonic() + 30
    back = False
    while time.monotonic() < deadline and not back:
        back = Client(srv.port, False).send("GET", "/users/me", headers={"Cookie": cookie})[0] == 200
        if not back:
            time.sleep(0.2)
    phase[0] = "after"
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(timeout=60)

    def count(ph, pred=lambda s: True):
        return sum(v for (p, _, s), v in tallies.items() if p == ph and pred(s))

    during = count("cut")
    unavailable = count("cut", lambda s: s == 503)
    closed = count("cut", lambda s: s == 0) + count("healing", lambda s: s == 0)
    report.note(f"round {round_}, {cut}: {during} requests during the {seconds:.0f} s cut "
                f"({unavailable} answered 503, {closed} closed connections); "
                f"{count('after')} after, {count('after', lambda s: s in (200, 201))} of them 2xx; "
                f"slowest answers: " + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(slowest.items())))
    report.check(during > 0 and unavailable > 0,
                 f"round {round_}, {cut}: requests during the cut were answered 503")
    report.check(not bad, f"round {round_}, {cut}: every request during the cut and the healing "
                          f"answered 2xx or 503 JSON" + (": " + "; ".join(bad[:5]) if bad else ""))
    report.check(back, f"round {round_}, {cut}: GET /users/me answered 200 within 30 s of healing")
    after_bad = count("after", lambda s: s not in (200, 201))
    report.check(after_bad == 0, f"round {round_}, {cut}: every request after recovery answered "
                                 f"2xx ({after_bad} did not)")
