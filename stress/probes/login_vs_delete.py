"""A login racing the deletion of its user: never a 5xx. Each trial creates
a user, then fires 4 logins and DELETE /users/<id> together; a login may
win (200) or lose (404 / 401), a 500 is a violation. After the deletion
the user must be gone. A round is one trial per storage (PostgreSQL, where
the issue found it, and SQLite, which has the same foreign key).

A login spends most of its time in Argon2 before it writes its session, so
the delete is sent after a random delay between 0 and 1.5 x the measured
login time: some logins win, some lose, and some hit the window between
the password check and the session insert.
"""

import concurrent.futures as cf
import random
import threading
import time

from harness import serving, store, unique_email

NAME = "login-delete"
DEFAULT_ROUNDS = 8
STORAGES = ("postgres", "sqlite")
LOGINS = 4


def run(ctx, report):
    rounds = ctx.rounds(DEFAULT_ROUNDS)
    report.note(f"{rounds} trial(s) per storage: {LOGINS} logins + 1 delete at once")
    for kind in ctx.storages(STORAGES):
        with store(kind) as st, serving(ctx.binary, st, admin=("admin@example.com", "admin-pw")) as srv:
            admin, r = srv.login("admin@example.com", "admin-pw")
            if not report.check(admin, f"{kind}: admin login ({r.status})"):
                continue
            t0 = time.monotonic()
            for _ in range(3):
                srv.login("admin@example.com", "admin-pw")
            login_time = (time.monotonic() - t0) / 3
            report.note(f"{kind}: a login takes {login_time * 1000:.0f} ms; deletes are sent "
                        f"0-{1.5 * login_time * 1000:.0f} ms after the logins")
            rng = random.Random(ctx.args.seed)
            seen = {}
            bad = []
            for i in range(rounds):
                email = unique_email("ld")
                r = srv.req("POST", "/users", cookie=admin, json_body={"email": email, "password": "pw"})
                if r.status != 201:
                    bad.append(f"trial {i}: setup POST /users {r!r}")
                    continue
                uid = r.json()["id"]
                go = threading.Barrier(LOGINS + 1, timeout=30)
                delay = rng.uniform(0, 1.5 * login_time)

                def login():
                    go.wait()
                    return ("login", srv.login(email, "pw")[1])

                def delete():
                    go.wait()
                    time.sleep(delay)
                    return ("delete", srv.req("DELETE", f"/users/{uid}", cookie=admin))

                with cf.ThreadPoolExecutor(LOGINS + 1) as pool:
                    futures = [pool.submit(login) for _ in range(LOGINS)] + [pool.submit(delete)]
                    results = [f.result(timeout=120) for f in futures]
                for what, resp in results:
                    seen.setdefault(f"{what} {resp.status}", 0)
                    seen[f"{what} {resp.status}"] += 1
                    if resp.status >= 500 or resp.status == 0:
                        bad.append(f"trial {i}: {what} answered {resp!r}")
                after = srv.req("GET", f"/users/{uid}", cookie=admin).status
                if after != 404:
                    bad.append(f"trial {i}: GET /users/<deleted id> answered {after}")
            report.note(f"{kind}: answers seen {dict(sorted(seen.items()))}")
            for b in bad[:8]:
                report.note(f"{kind}: {b}")
            report.check(not bad, f"{kind}: {rounds} trials, no 5xx and the user gone after delete")
            report.check(not srv.panicked(), f"{kind}: no panic in the log")
