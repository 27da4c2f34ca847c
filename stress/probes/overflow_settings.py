"""Overflowing settings: durations whose arithmetic overflows must be
refused at start with a message naming the setting (non-zero exit, no
panic). If the server starts anyway, a login and an authenticated request
are made, since the unfixed server panicked only there.
"""

import subprocess
import time

from harness import Server, free_port, store

NAME = "settings"
DEFAULT_ROUNDS = 1

VALUES = ["9000000000000000", "9223372036854775807", "99999999999999999999"]


def try_value(ctx, report, var, value):
    with store("file") as st:
        srv = Server(ctx.binary, st, env={var: value})
        # The operator command reads no serve settings: create the user
        # without the value under test.
        env = dict(srv.env)
        env.pop(var)
        out = subprocess.run([ctx.binary, "user", "create", "--email", "a@example.com",
                              "--password-stdin"], input="pw", env=env, capture_output=True,
                             text=True, timeout=60)
        if out.returncode != 0:
            report.check(False, f"{var}={value}: setup user create failed: {out.stderr.strip()}")
            return
        srv.env["API_PORT"] = str(free_port())
        log = open(srv.log_path, "wb")
        proc = subprocess.Popen([ctx.binary, "serve"], env=srv.env, stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL)
        log.close()
        srv.proc = proc
        deadline = time.monotonic() + 20
        listening = False
        while time.monotonic() < deadline and proc.poll() is None:
            if srv.req("GET", "/status", timeout=1).status == 200:
                listening = True
                break
            time.sleep(0.1)
        try:
            if listening:
                cookie, r = srv.login("a@example.com", "pw")
                me = srv.req("GET", "/users/me", cookie=cookie).status if cookie else None
                report.check(False, f"{var}={value}: server started (login {r.status}, "
                                    f"GET /users/me {me}, panic in log: {srv.panicked()}); "
                                    f"wanted a refusal at start")
                return
            text = srv.log()
            first = text.strip().splitlines()[0] if text.strip() else ""
            report.check(proc.returncode not in (None, 0) and var.lower().replace("_", "-") in
                         text.lower().replace("_", "-") and "panicked" not in text,
                         f"{var}={value}: refused at start, exit {proc.returncode}, "
                         f"message: {first[:150]!r}")
        finally:
            srv.kill9()


def run(ctx, report):
    for var in ("SESSION_DURATION", "SESSION_IDLE_TIMEOUT"):
        for value in VALUES:
            try_value(ctx, report, var, value)
    # The smallest i64 means "never expires" for SESSION_DURATION; it may be
    # accepted, but then it must not panic either.
    with store("file") as st:
        srv = Server(ctx.binary, st, env={"SESSION_DURATION": "-9223372036854775808"})
        srv.user_create("a@example.com", "pw")
        try:
            srv.start()
        except RuntimeError as e:
            report.check("panicked" not in str(e),
                         f"SESSION_DURATION=-9223372036854775808 refused at start: {str(e)[-150:]}")
            return
        cookie, r = srv.login("a@example.com", "pw")
        me = srv.req("GET", "/users/me", cookie=cookie).status if cookie else None
        report.check(cookie and me == 200 and not srv.panicked(),
                     f"SESSION_DURATION=-9223372036854775808 (never expires): login {r.status}, "
                     f"GET /users/me {me}, no panic")
        srv.kill9()
