"""Blocked statements (PostgreSQL): another connection holds
`LOCK TABLE users IN ACCESS EXCLUSIVE MODE` (psql in the background, in an
open transaction). Then 12 concurrent session-authenticated requests (more
than the pool's 10 connections) must each answer 503 within
--statement-wait seconds rather than hang, GET /status keeps answering,
and once the lock is released the same requests answer 200 again.
"""

import concurrent.futures as cf
import subprocess
import time

from harness import PG_ADMIN, psql, serving, store

NAME = "blocked-sql"
DEFAULT_ROUNDS = 1
CONCURRENT = 12


def run(ctx, report):
    wait = ctx.args.statement_wait
    for kind in ctx.storages(("postgres",)):
        with store(kind) as st, serving(ctx.binary, st, admin=("admin@example.com", "admin-pw")) as srv:
            cookie, r = srv.login("admin@example.com", "admin-pw")
            if not report.check(cookie, f"admin login ({r.status})"):
                return
            for round_ in range(ctx.rounds(DEFAULT_ROUNDS)):
                locker = subprocess.Popen(
                    ["psql", f"{PG_ADMIN}/{st.db}", "-q", "-v", "ON_ERROR_STOP=1"],
                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                    text=True)
                try:
                    locker.stdin.write("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE;\n")
                    locker.stdin.flush()
                    held = False
                    deadline = time.monotonic() + 10
                    while time.monotonic() < deadline and not held:
                        held = psql("SELECT count(*) FROM pg_locks l JOIN pg_class c ON "
                                    "c.oid = l.relation WHERE c.relname = 'users' AND "
                                    "l.mode = 'AccessExclusiveLock' AND l.granted",
                                    db=st.db) != "0"
                        time.sleep(0.1)
                    if not report.check(held, f"round {round_}: psql holds ACCESS EXCLUSIVE on users"):
                        locker.kill()
                        locker.wait()
                        return

                    def blocked(_):
                        t0 = time.monotonic()
                        resp = srv.req("GET", "/users/me", cookie=cookie, timeout=wait + 20)
                        return resp.status, time.monotonic() - t0

                    pool = cf.ThreadPoolExecutor(CONCURRENT)
                    pending, not_done = [], set()
                    try:
                        pending = [pool.submit(blocked, i) for i in range(CONCURRENT)]
                        time.sleep(0.5)
                        t0 = time.monotonic()
                        status = srv.req("GET", "/status", timeout=5).status
                        status_took = time.monotonic() - t0
                        done, not_done = cf.wait(pending, timeout=wait + 1)
                        results = [f.result() for f in done]
                        statuses = sorted(s for s, _ in results)
                        slowest = max((t for _, t in results), default=0.0)
                        report.note(f"round {round_}: {CONCURRENT} GET /users/me while locked: "
                                    f"{len(done)} answered within {wait + 1} s, statuses "
                                    f"{statuses}, {len(not_done)} still waiting")
                        report.check(not not_done and all(s == 503 for s in statuses)
                                     and slowest <= wait,
                                     f"round {round_}: every blocked request answered 503 within "
                                     f"{wait} s ({len(not_done)}/{CONCURRENT} still hanging)")
                        report.check(status == 200 and status_took <= 2,
                                     f"round {round_}: GET /status answered {status} in "
                                     f"{status_took:.1f} s while the table was locked")
                    finally:
                        try:
                            locker.communicate("ROLLBACK;\n", timeout=10)
                        except subprocess.TimeoutExpired:
                            locker.kill()
                            locker.wait()
                        late = [f.result() for f in cf.as_completed(pending, timeout=60)
                                if f in not_done] if not_done else []
                        if late:
                            report.note(f"round {round_}: the hanging requests answered "
                                        f"{sorted(s for s, _ in late)} after the lock was "
                                        f"released, {max(t for _, t in late):.1f} s after sent")
                        pool.shutdown()
                except BaseException:
                    locker.kill()
                    locker.wait()
                    raise
                ok = 0
                t0 = time.monotonic()
                with cf.ThreadPoolExecutor(CONCURRENT) as pool:
                    after = list(pool.map(lambda _: srv.req("GET", "/users/me", cookie=cookie,
                                                            timeout=30).status, range(CONCURRENT)))
                ok = after.count(200)
                report.check(ok == CONCURRENT,
                             f"round {round_}: after release {ok}/{CONCURRENT} GET /users/me "
                             f"answered 200 ({time.monotonic() - t0:.1f} s)")
            report.check(not srv.panicked(), "no panic in the log")
