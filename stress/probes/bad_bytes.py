"""Bad bytes: inputs a storage cannot hold must be refused with a 400 (the
Flask API's error body), never a 500, on every storage. Tried: NUL in the
email and in each name, a 3,000-character email, 3,000-character names,
a lone UTF-16 surrogate, invalid UTF-8; on POST /users, PUT /users/<id>
and the login form (where a 404/401 "no such user" is fine too).
A round repeats every input once (with fresh emails).
"""

from harness import serving, store, unique_email

NAME = "bad-bytes"
DEFAULT_ROUNDS = 1

LONG = "a" * 2988 + "@example.com"  # 3,000 characters


def creates():
    e = unique_email
    return [
        ("NUL in email", {"email": "nul\u0000" + e(), "password": "pw"}),
        ("NUL in first_name", {"email": e(), "password": "pw", "first_name": "a\u0000b"}),
        ("NUL in last_name", {"email": e(), "password": "pw", "last_name": "a\u0000b"}),
        ("3,000-character email", {"email": LONG, "password": "pw"}),
        ("3,000-character first_name", {"email": e(), "password": "pw", "first_name": "n" * 3000}),
        ("3,000-character last_name", {"email": e(), "password": "pw", "last_name": "n" * 3000}),
        ("NUL in password", {"email": e(), "password": "p\u0000w"}),
    ]


RAW = [
    ("lone surrogate in email", b'{"email": "a\\ud800b@example.com", "password": "pw"}'),
    ("invalid UTF-8 in email", b'{"email": "a\xff\xfeb@example.com", "password": "pw"}'),
]

RENAMES = [
    ("NUL in first_name", {"first_name": "a\u0000b"}),
    ("NUL in last_name", {"last_name": "a\u0000b"}),
    ("3,000-character first_name", {"first_name": "n" * 3000}),
    ("lone surrogate in last_name", None),
]

LOGINS = [
    ("NUL in email", {"email": "nul\u0000x@example.com", "password": "pw"}),
    ("3,000-character email", {"email": LONG, "password": "pw"}),
    ("NUL in password", {"email": "admin@example.com", "password": "admin\u0000pw"}),
]


def run(ctx, report):
    rounds = ctx.rounds(DEFAULT_ROUNDS)
    for kind in ctx.storages():
        with store(kind) as st, serving(ctx.binary, st, admin=("admin@example.com", "admin-pw")) as srv:
            cookie = None
            if kind != "memory":
                cookie, r = srv.login("admin@example.com", "admin-pw")
                if not report.check(cookie, f"{kind}: admin login ({r.status})"):
                    continue
            target = srv.req("POST", "/users", cookie=cookie,
                             json_body={"email": unique_email("t"), "password": "pw"})
            if not report.check(target.status == 201, f"{kind}: setup user ({target.status})"):
                continue
            uid = target.json()["id"]
            bad = []
            tried = 0
            for _ in range(rounds):
                for what, body in creates():
                    r = srv.req("POST", "/users", cookie=cookie, json_body=body)
                    tried += 1
                    if what == "NUL in password":
                        if r.status >= 500 or r.status == 0:
                            bad.append(f"POST /users {what}: {r!r}")
                    elif r.status != 400 or not (r.json() or {}).get("error"):
                        bad.append(f"POST /users {what}: {r!r}")
                for what, raw in RAW:
                    r = srv.req("POST", "/users", cookie=cookie, raw=raw)
                    tried += 1
                    if r.status != 400:
                        bad.append(f"POST /users {what}: {r!r}")
                for what, body in RENAMES:
                    if body is None:
                        r = srv.req("PUT", f"/users/{uid}", cookie=cookie,
                                    raw=b'{"last_name": "x\\udc00y"}')
                    else:
                        r = srv.req("PUT", f"/users/{uid}", cookie=cookie, json_body=body)
                    tried += 1
                    if r.status != 400:
                        bad.append(f"PUT /users/<id> {what}: {r!r}")
                if kind != "memory":
                    for what, form in LOGINS:
                        r = srv.req("POST", "/auth_session/login", form=form)
                        tried += 1
                        if r.status not in (400, 401, 404):
                            bad.append(f"login {what}: {r!r}")
            got = srv.req("GET", f"/users/{uid}", cookie=cookie).json() or {}
            if got.get("first_name") is not None or got.get("last_name") is not None:
                bad.append(f"a refused rename changed the user: {got}")
            for b in bad[:12]:
                report.note(f"{kind}: {b}")
            report.check(not bad, f"{kind}: {tried - len(bad)}/{tried} bad inputs refused "
                                  f"with 400 (or 401/404 at login), none 5xx")
            report.check(not srv.panicked(), f"{kind}: no panic in the log")
