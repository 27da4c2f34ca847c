"""Memory growth: resident memory after N x POST /users, N logins and N
password changes, on every storage. Argon2 needs 19 MiB per hash; memory
must be bounded by the number of hashing workers, not by traffic.

A round is 10 of each; the issue's target is 1,000 of each (--rounds 100)
at <= 150 MB. The bound is the same at every size: memory bounded by
configuration does not depend on N, and the unfixed server passes 700 MB
after 50 creates.
"""

import concurrent.futures as cf

from harness import serving, store, unique_email

NAME = "memory"
DEFAULT_ROUNDS = 5  # 50 of each per storage
CONCURRENCY = 8


def run(ctx, report):
    n = 10 * ctx.rounds(DEFAULT_ROUNDS)
    bound = ctx.args.memory_bound_mb
    report.note(f"{n} creates, {n} logins, {n} password changes per storage, "
                f"{CONCURRENCY} at a time; bound {bound} MB")
    for kind in ctx.storages():
        with store(kind) as st, serving(ctx.binary, st, admin=("admin@example.com", "admin-pw")) as srv:
            cookie = None
            if kind != "memory":
                cookie, r = srv.login("admin@example.com", "admin-pw")
                if not report.check(cookie, f"{kind}: admin login ({r.status})"):
                    continue
            start = srv.rss_mb()
            emails = [unique_email("m") for _ in range(n)]

            def create(email):
                return srv.req("POST", "/users", cookie=cookie,
                               json_body={"email": email, "password": "pw-0"}).status

            with cf.ThreadPoolExecutor(CONCURRENCY) as pool:
                statuses = list(pool.map(create, emails))
            after_create = srv.rss_mb()
            report.check(all(s == 201 for s in statuses),
                         f"{kind}: {statuses.count(201)}/{n} POST /users answered 201")
            phases = [f"start {start:.0f} MB", f"after creates {after_create:.0f} MB"]
            peak = after_create
            if kind == "memory":
                report.note("memory storage runs with AUTH_TYPE=none (nothing can create "
                            "its first user otherwise): no logins or password changes")
            else:
                def login(email):
                    return srv.login(email, "pw-0")

                with cf.ThreadPoolExecutor(CONCURRENCY) as pool:
                    logins = list(pool.map(login, emails))
                after_login = srv.rss_mb()
                report.check(all(c for c, _ in logins),
                             f"{kind}: {sum(1 for c, _ in logins if c)}/{n} logins answered 200")

                def change(pair):
                    c, _ = pair
                    return srv.req("PUT", "/users/me/password", cookie=c,
                                   json_body={"current_password": "pw-0",
                                              "new_password": "pw-1"}).status

                with cf.ThreadPoolExecutor(CONCURRENCY) as pool:
                    changes = list(pool.map(change, [p for p in logins if p[0]]))
                after_change = srv.rss_mb()
                report.check(all(s == 200 for s in changes),
                             f"{kind}: {changes.count(200)}/{len(changes)} password changes answered 200")
                phases += [f"after logins {after_login:.0f} MB",
                           f"after password changes {after_change:.0f} MB"]
                peak = max(peak, after_login, after_change)
            report.check(peak <= bound, f"{kind}: RSS {', '.join(phases)} (<= {bound} MB)")
            report.check(not srv.panicked(), f"{kind}: no panic in the log")
