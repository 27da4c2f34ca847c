"""Lost updates: renames (PUT /users/<id>, by an admin session) racing
password changes (PUT /users/me/password, by the user) on one user.

One trial: two rename threads each rename the user sequentially (r<thread>-<i>)
while a third thread changes the password sequentially pw-0 -> pw-1 -> ...
Afterwards:
- the user's names are the last rename answered 200 of one of the threads
  (a rename answered 200 holds unless a later rename overwrote it);
- the password is the last one a change answered 200 set: it logs in,
  and the one before it is refused.
A round is one trial per storage.
"""

import threading
import time

from harness import serving, store, unique_email

NAME = "races"
DEFAULT_ROUNDS = 4
STORAGES = ("file", "sqlite", "postgres")
CHANGES = 3
MAX_RENAMES = 150  # per thread and trial


def trial(srv, admin_cookie, index):
    email = unique_email("race")
    r = srv.req("POST", "/users", cookie=admin_cookie, json_body={
        "email": email, "password": "pw-0", "first_name": "orig", "last_name": "orig"})
    if r.status != 201:
        return [f"trial {index}: setup POST /users answered {r!r}"], (0, 0, 0)
    uid = r.json()["id"]
    user_cookie, r = srv.login(email, "pw-0")
    if not user_cookie:
        return [f"trial {index}: setup login answered {r!r}"], (0, 0, 0)

    done = threading.Event()
    go = threading.Barrier(3, timeout=30)
    last_ok = {}
    counts = {"renames": 0, "during": 0}
    password = {"current": "pw-0", "history": ["pw-0"], "statuses": []}

    def renamer(t):
        go.wait()
        deadline = time.monotonic() + 30
        for i in range(MAX_RENAMES):
            if done.is_set() and i > 2 or time.monotonic() > deadline:
                break
            name = f"r{t}-{i}"
            resp = srv.req("PUT", f"/users/{uid}", cookie=admin_cookie,
                           json_body={"first_name": name, "last_name": name})
            if resp.status == 200:
                last_ok[t] = name
                counts["renames"] += 1
                if not done.is_set():
                    counts["during"] += 1

    def changer():
        go.wait()
        cookie = user_cookie
        try:
            for k in range(1, CHANGES + 1):
                new = f"pw-{k}"
                resp = srv.req("PUT", "/users/me/password", cookie=cookie, json_body={
                    "current_password": password["current"], "new_password": new})
                password["statuses"].append(resp.status)
                if resp.status != 200:
                    break
                password["current"] = new
                password["history"].append(new)
        finally:
            done.set()

    threads = [threading.Thread(target=renamer, args=(t,)) for t in (1, 2)]
    threads.append(threading.Thread(target=changer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)

    problems = []
    stats = (counts["renames"], counts["during"], len(password["history"]) - 1)
    got = srv.req("GET", f"/users/{uid}", cookie=admin_cookie).json() or {}
    final = (got.get("first_name"), got.get("last_name"))
    allowed = {(n, n) for n in last_ok.values()} or {("orig", "orig")}
    if final not in allowed:
        problems.append(f"trial {index}: names are {final} but the last renames answered 200 "
                        f"were {sorted(last_ok.values())} (lost update)")
    current = password["current"]
    ok_new = srv.login(email, current)[1].status
    if ok_new != 200:
        problems.append(f"trial {index}: password {current} (last change answered 200) "
                        f"refused at login ({ok_new})")
    if len(password["history"]) > 1:
        previous = password["history"][-2]
        old = srv.login(email, previous)[1].status
        if old != 401:
            problems.append(f"trial {index}: old password {previous} still answers {old} "
                            f"(change answered 200 undone)")
    if any(s != 200 for s in password["statuses"]):
        problems.append(f"trial {index}: password changes answered {password['statuses']}")
    return problems, stats


def run(ctx, report):
    rounds = ctx.rounds(DEFAULT_ROUNDS)
    report.note(f"{rounds} trial(s) per storage: 2 rename threads (<= {MAX_RENAMES} each) "
                f"vs {CHANGES} sequential password changes")
    for kind in ctx.storages(STORAGES):
        with store(kind) as st, serving(ctx.binary, st, admin=("admin@example.com", "admin-pw")) as srv:
            admin, r = srv.login("admin@example.com", "admin-pw")
            if not report.check(admin, f"{kind}: admin login ({r.status})"):
                continue
            problems = []
            renames = during = changes = 0
            for i in range(rounds):
                found, (r_all, r_during, c) = trial(srv, admin, i)
                problems += found
                renames, during, changes = renames + r_all, during + r_during, changes + c
            report.note(f"{kind}: {renames} renames answered 200 ({during} while password "
                        f"changes ran), {changes} password changes answered 200")
            for p in problems[:10]:
                report.note(f"{kind}: {p}")
            bad = len({p.split(':')[0] for p in problems})
            report.check(not problems, f"{kind}: {rounds - bad}/{rounds} trials kept every "
                                       f"rename and password change answered 200")
            report.check(not srv.panicked(), f"{kind}: no panic in the log")
