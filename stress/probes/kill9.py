"""kill -9 during concurrent writes. Each round: start the server on the
same data, let 4 threads create, rename and delete users for a random
0.3-1.5 s, kill -9 the server mid-flight, then check
- the data files parse (file storage: both JSON files);
- after a restart, every create answered 201 is there with its last
  rename answered 200, every delete answered 200 is absent (writes
  in flight at the kill may land or not);
- no temporary files are left in DATA_DIR after the restart.
A round is one kill; on file storage and SQLite.
"""

import json
import os
import random
import threading
import time

from harness import Server, store, unique_email

NAME = "kill9"
DEFAULT_ROUNDS = 15
STORAGES = ("file", "sqlite")
WRITERS = 4


def writer(srv, admin, state, lock, stop, rng):
    mine = []
    deadline = time.monotonic() + 10
    while not stop.is_set() and time.monotonic() < deadline:
        op = rng.random()
        if op < 0.5 or len(mine) < 2:
            email = unique_email("k9")
            with lock:
                state[email] = ("unknown", None)
            r = srv.req("POST", "/users", cookie=admin, json_body={"email": email, "password": "pw"},
                        timeout=10)
            if r.status == 0:
                return
            with lock:
                if r.status == 201:
                    state[email] = ("present", r.json()["id"], None)
                    mine.append(email)
                else:
                    state[email] = ("absent", None)
        elif op < 0.8:
            email = rng.choice(mine)
            uid = state[email][1]
            name = f"n{rng.randrange(10**6)}"
            with lock:
                state[email] = ("present", uid, "unknown")
            r = srv.req("PUT", f"/users/{uid}", cookie=admin,
                        json_body={"first_name": name, "last_name": name}, timeout=10)
            if r.status == 0:
                return
            with lock:
                if r.status == 200:
                    state[email] = ("present", uid, name)
        else:
            email = mine.pop(rng.randrange(len(mine)))
            uid = state[email][1]
            with lock:
                state[email] = ("unknown", uid)
            r = srv.req("DELETE", f"/users/{uid}", cookie=admin, timeout=10)
            if r.status == 0:
                return
            with lock:
                state[email] = ("absent", uid) if r.status == 200 else ("present", uid, "unknown")


def files_parse(data_dir):
    bad = []
    for name in (".db_User.json", ".db_UserSession.json"):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            try:
                with open(path) as f:
                    json.load(f)
            except ValueError as e:
                bad.append(f"{name}: {e}")
    return bad


def run(ctx, report):
    rounds = ctx.rounds(DEFAULT_ROUNDS)
    rng = random.Random(ctx.args.seed)
    report.note(f"{rounds} kill -9 round(s) per storage, {WRITERS} writer threads")
    for kind in ctx.storages(STORAGES):
        with store(kind) as st:
            srv = Server(ctx.binary, st)
            srv.user_create("admin@example.com", "admin-pw")
            state, lock = {}, threading.Lock()
            problems, max_tmp, acked = [], 0, 0
            try:
                for i in range(rounds):
                    srv.start()
                    admin, r = srv.login("admin@example.com", "admin-pw")
                    if not admin:
                        problems.append(f"round {i}: admin login {r!r}")
                        break
                    stop = threading.Event()
                    threads = [threading.Thread(target=writer, args=(
                        srv, admin, state, lock, stop, random.Random(rng.random())))
                        for _ in range(WRITERS)]
                    for t in threads:
                        t.start()
                    time.sleep(rng.uniform(0.3, 1.5))
                    srv.kill9()
                    stop.set()
                    for t in threads:
                        t.join(timeout=30)
                    if kind == "file":
                        problems += [f"round {i}: {b}" for b in files_parse(st.data_dir)]
                    srv.start()
                    admin, r = srv.login("admin@example.com", "admin-pw")
                    if not admin:
                        problems.append(f"round {i}: admin login after restart {r!r}")
                        break
                    listed = srv.req("GET", "/users", cookie=admin)
                    if listed.status != 200:
                        problems.append(f"round {i}: GET /users after restart {listed!r}")
                        break
                    seen = {u["email"]: u for u in listed.json()}
                    with lock:
                        for email, entry in list(state.items()):
                            if entry[0] == "present":
                                acked += 1
                                if email not in seen:
                                    problems.append(f"round {i}: acknowledged user {email} lost")
                                elif entry[2] not in (None, "unknown") and \
                                        seen[email]["first_name"] != entry[2]:
                                    problems.append(f"round {i}: acknowledged rename of {email} to "
                                                    f"{entry[2]} lost ({seen[email]['first_name']})")
                            elif entry[0] == "absent" and email in seen:
                                problems.append(f"round {i}: {email} present although its delete "
                                                f"(or failed create) was answered")
                            # What was in flight is now known: take what the store says.
                            if entry[0] == "unknown" or (entry[0] == "present" and entry[2] == "unknown"):
                                if email in seen:
                                    state[email] = ("present", seen[email]["id"],
                                                    seen[email]["first_name"])
                                else:
                                    state[email] = ("absent", entry[1])
                    tmp = [f for f in os.listdir(st.data_dir) if f.endswith(".tmp")]
                    max_tmp = max(max_tmp, len(tmp))
                    if tmp:
                        problems.append(f"round {i}: {len(tmp)} temporary file(s) in DATA_DIR "
                                        f"after restart ({', '.join(sorted(tmp)[:3])})")
                    srv.kill9()
            finally:
                srv.kill9()
            users = sum(1 for e in state.values() if e[0] == "present")
            report.note(f"{kind}: {len(state)} writes tracked, {users} users at the end, "
                        f"{acked} acknowledged-present checks, most .tmp files seen {max_tmp}")
            lost = [p for p in problems if "lost" in p or "present although" in p]
            tmps = [p for p in problems if "temporary" in p]
            other = [p for p in problems if p not in lost and p not in tmps]
            for p in (lost + other)[:8] + tmps[:3]:
                report.note(f"{kind}: {p}")
            report.check(not lost, f"{kind}: {rounds} rounds, nothing acknowledged lost "
                                   f"({len(lost)} violation(s))")
            report.check(not other, f"{kind}: files parse and the server restarts ({len(other)} problem(s))")
            report.check(not tmps, f"{kind}: no temporary files left after restart "
                                   f"({len(tmps)}/{rounds} rounds left some)")
            report.check(not srv.panicked(), f"{kind}: no panic in the log")
