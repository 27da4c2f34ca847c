"""Disk full and read-only DATA_DIR under file storage, on a small tmpfs
mounted over DATA_DIR (needs root / CAP_SYS_ADMIN; otherwise the probe says
so and skips).

For each fault (the tmpfs filled to the last byte by a filler file;
DATA_DIR bind-mounted over itself read-only, as a remount of the tmpfs is
refused while the server holds its lock file open for writing):
- while faulty: POST /users, a rename, a delete; every write answered 5xx
  must not be visible in GET /users (no phantom write), a retried create
  must not say "email already exists"; GET /users/me keeps answering 200
  although its activity update cannot be written (SESSION_IDLE_TIMEOUT=10
  makes a read 5 s after the login want one; the sessions are made just
  before the fault so that they stay within their idle time throughout);
- fault cleared, same process: writes succeed again (no restart needed),
  and the failed writes are still invisible;
- kill -9 and restart: every write answered 2xx is there, every write
  answered 5xx is not.
A round is 4 create attempts while faulty.
"""

import errno
import os
import subprocess
import time

from harness import serving, store, unique_email

NAME = "disk-full"
DEFAULT_ROUNDS = 2
TMPFS_SIZE = "2m"


def mount(path, options):
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path],
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        return (out.stderr or out.stdout).strip() or f"mount exited {out.returncode}"
    return None


def umount(path):
    for _ in range(3):
        if not os.path.ismount(path):
            return
        subprocess.run(["umount", "-l", path], capture_output=True, timeout=30)


def read_only(path):
    for argv in (["mount", "--bind", path, path], ["mount", "-o", "remount,bind,ro", path]):
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            return f"{' '.join(argv[:3])}: {out.stderr.strip()}"
    return None


def writable(path):
    out = subprocess.run(["umount", path], capture_output=True, text=True, timeout=30)
    return None if out.returncode == 0 else out.stderr.strip()


def fill(path):
    """Writes a filler file until the file system refuses one more byte."""
    filler = os.path.join(path, "stress-filler")
    with open(filler, "wb", buffering=0) as f:
        for size in (65536, 4096, 512, 1):
            while True:
                try:
                    f.write(b"\0" * size)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    return filler


def users_by_email(srv, cookie):
    r = srv.req("GET", "/users", cookie=cookie)
    if r.status != 200:
        return None
    return {u["email"]: u for u in r.json()}


def fault_phase(ctx, report, label, srv, admin, state, attempts, break_it, heal_it):
    """Runs one fault against a running server; `state` tracks what the
    server acknowledged: {'present': {email: (first, last)}, 'absent': set()}."""
    user_cookie, r = srv.login(state["user"], "user-pw")
    if not report.check(user_cookie, f"{label}: user login before the fault ({r.status})"):
        return srv
    admin, r = srv.login("admin@example.com", "admin-pw")
    if not report.check(admin, f"{label}: admin login before the fault ({r.status})"):
        return srv
    logged_in = time.monotonic()
    victim_rename, victim_delete = state["victims"]
    error = break_it()
    if error:
        report.skip(f"{label}: could not make the fault: {error}")
        return srv
    answers = {}
    failed_creates = []
    try:
        for _ in range(attempts):
            email = unique_email("full")
            r = srv.req("POST", "/users", cookie=admin, json_body={"email": email, "password": "pw"})
            answers.setdefault(f"create {r.status}", 0)
            answers[f"create {r.status}"] += 1
            if r.status == 201:
                state["present"][email] = (None, None)
            elif r.status >= 500:
                failed_creates.append(email)
                state["absent"].add(email)
        r = srv.req("PUT", f"/users/{state['ids'][victim_rename]}", cookie=admin,
                    json_body={"first_name": "during-fault", "last_name": "during-fault"})
        answers[f"rename {r.status}"] = 1
        if r.status == 200:
            state["present"][victim_rename] = ("during-fault", "during-fault")
        rename_failed = r.status >= 500
        r = srv.req("DELETE", f"/users/{state['ids'][victim_delete]}", cookie=admin)
        answers[f"delete {r.status}"] = 1
        delete_failed = r.status >= 500
        if r.status == 200:
            state["present"].pop(victim_delete, None)
            state["absent"].add(victim_delete)
        report.note(f"{label}: answers while faulty {answers}")
        report.check(all(not k.endswith(" 0") for k in answers),
                     f"{label}: every write got an answer (no dropped connection)")

        reads = []
        for at in (5.5, 6.5):
            time.sleep(max(0.0, logged_in + at - time.monotonic()))
            reads.append(srv.req("GET", "/users/me", cookie=user_cookie).status)
        report.check(all(s == 200 for s in reads),
                     f"{label}: GET /users/me while faulty answered {reads} (all 200 wanted)")

        seen = users_by_email(srv, admin)
        if report.check(seen is not None, f"{label}: GET /users answers while faulty"):
            phantoms = [e for e in failed_creates if e in seen]
            report.check(not phantoms, f"{label}: {len(phantoms)}/{len(failed_creates)} creates "
                                       f"answered 5xx are nevertheless listed by GET /users")
            if rename_failed:
                names = (seen[victim_rename]["first_name"], seen[victim_rename]["last_name"])
                report.check(names == state["present"][victim_rename],
                             f"{label}: rename answered 5xx not visible (names {names})")
            if delete_failed:
                report.check(victim_delete in seen,
                             f"{label}: delete answered 5xx not visible (user still listed)")
        if failed_creates:
            r = srv.req("POST", "/users", cookie=admin,
                        json_body={"email": failed_creates[0], "password": "pw"})
            report.check(not (r.status == 400 and b"exists" in r.body),
                         f"{label}: retrying a failed create does not say 'email already exists' "
                         f"({r.status})")
            if r.status == 201:
                state["present"][failed_creates[0]] = (None, None)
                state["absent"].discard(failed_creates[0])
    finally:
        heal_error = heal_it()
    if heal_error:
        report.check(False, f"{label}: could not clear the fault: {heal_error}")
        return srv

    # Recovery without restart (sessions may have lapsed: their activity
    # could not be written; log in again).
    admin, r = srv.login("admin@example.com", "admin-pw")
    user_cookie, r2 = srv.login(state["user"], "user-pw")
    report.check(admin and user_cookie, f"{label}: logins after the fault cleared "
                                        f"({r.status}, {r2.status})")
    recovered = None
    email = unique_email("healed")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = srv.req("POST", "/users", cookie=admin, json_body={"email": email, "password": "pw"})
        if r.status == 201:
            recovered = r
            state["present"][email] = (None, None)
            break
        if r.status == 400:  # a previous try did land
            state["present"][email] = (None, None)
            recovered = r
            break
        time.sleep(0.5)
    report.check(recovered is not None and recovered.status == 201,
                 f"{label}: after the fault cleared, POST /users answers 201 without a restart "
                 f"({recovered.status if recovered else 'never within 10 s'})")
    me = srv.req("GET", "/users/me", cookie=user_cookie).status
    report.check(me == 200, f"{label}: GET /users/me after the fault cleared ({me})")
    seen = users_by_email(srv, admin) or {}
    phantoms = sorted(e for e in state["absent"] if e in seen)
    report.check(not phantoms, f"{label}: after the fault cleared, {len(phantoms)} write(s) "
                               f"answered 5xx are visible")

    # kill -9 and restart: the files say the same as the answers.
    srv.kill9()
    srv.start()
    admin2, r = srv.login("admin@example.com", "admin-pw")
    if not report.check(admin2, f"{label}: admin login after kill -9 + restart ({r.status})"):
        return srv
    state["admin"] = admin2
    seen = users_by_email(srv, admin2) or {}
    lost = sorted(e for e in state["present"] if e not in seen)
    phantoms = sorted(e for e in state["absent"] if e in seen)
    wrong_names = sorted(e for e, names in state["present"].items()
                         if e in seen and names != (None, None)
                         and (seen[e]["first_name"], seen[e]["last_name"]) != names)
    report.check(not lost, f"{label}: after kill -9 + restart, {len(lost)} acknowledged user(s) lost")
    report.check(not phantoms, f"{label}: after kill -9 + restart, {len(phantoms)} write(s) "
                               f"answered 5xx present")
    report.check(not wrong_names, f"{label}: after kill -9 + restart, {len(wrong_names)} "
                                  f"acknowledged rename(s) differ")
    leftovers = [f for f in os.listdir(srv.store.data_dir) if f.endswith(".tmp")]
    report.check(not leftovers, f"{label}: no temporary files in DATA_DIR after restart ({len(leftovers)})")
    report.check(not srv.panicked(), f"{label}: no panic in the log")
    return srv


def run(ctx, report):
    attempts = 4 * ctx.rounds(DEFAULT_ROUNDS)
    with store("file") as st:
        error = mount(st.data_dir, f"size={TMPFS_SIZE},mode=0700")
        if error:
            report.skip(f"cannot mount a tmpfs here ({error}); disk-full and read-only "
                        f"DATA_DIR not tried")
            return
        try:
            report.note(f"tmpfs of {TMPFS_SIZE} mounted over DATA_DIR; {attempts} creates per fault")
            with serving(ctx.binary, st, env={"SESSION_IDLE_TIMEOUT": "10"},
                         admin=("admin@example.com", "admin-pw")) as srv:
                admin, r = srv.login("admin@example.com", "admin-pw")
                if not report.check(admin, f"admin login ({r.status})"):
                    return
                state = {"present": {}, "absent": set(), "ids": {}, "user": unique_email("me")}
                for email in [state["user"]] + [unique_email("victim") for _ in range(4)]:
                    r = srv.req("POST", "/users", cookie=admin, json_body={
                        "email": email, "password": "user-pw", "first_name": "before",
                        "last_name": "before"})
                    if not report.check(r.status == 201, f"setup: POST /users {r.status}"):
                        return
                    state["present"][email] = ("before", "before")
                    state["ids"][email] = r.json()["id"]
                victims = [e for e in state["ids"] if e != state["user"]]
                filler = {}

                def fill_it():
                    filler["path"] = fill(st.data_dir)
                    return None

                def free_it():
                    os.remove(filler["path"])
                    return None

                state["victims"] = victims[0:2]
                fault_phase(ctx, report, "disk full", srv, admin, state, attempts, fill_it, free_it)
                state["victims"] = victims[2:4]
                fault_phase(ctx, report, "read-only DATA_DIR", srv, state.get("admin", admin), state,
                            attempts, lambda: read_only(st.data_dir),
                            lambda: writable(st.data_dir))
        finally:
            umount(st.data_dir)
