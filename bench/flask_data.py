#!/usr/bin/env python3
"""Writes a Flask data folder (.db_User.json, .db_UserSession.json) with N
users, each with one session, for the import and large-table benchmarks.

    bench/flask_data.py DIR N [FIRST]

Users are numbered FIRST (default 0) to FIRST+N-1. Every user's password
is bench-password, stored as the Flask API stored it (unsalted SHA-256
hex); user i has the email user<i>@bench.example and the session token
token-<i>, so a benchmark can send the cookie `_my_session_id=token-<i>`
without logging in.
"""
import hashlib
import json
import os
import sys
import uuid


def main():
    folder, count = sys.argv[1], int(sys.argv[2])
    first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    digest = hashlib.sha256(b"bench-password").hexdigest()
    stamp = "2024-01-01T00:00:00"
    users, sessions = {}, {}
    for i in range(first, first + count):
        uid = str(uuid.uuid4())
        users[uid] = {"id": uid, "created_at": stamp, "updated_at": stamp,
                      "email": f"user{i}@bench.example", "_password": digest,
                      "first_name": "Bench", "last_name": None}
        sid = str(uuid.uuid4())
        # Far in the future so no SESSION_DURATION ends them.
        sessions[sid] = {"id": sid, "created_at": "2099-01-01T00:00:00",
                         "updated_at": "2099-01-01T00:00:00", "user_id": uid,
                         "session_id": f"token-{i}"}
    os.makedirs(folder, exist_ok=True)
    for name, records in ((".db_User.json", users), (".db_UserSession.json", sessions)):
        with open(os.path.join(folder, name), "w") as out:
            json.dump(records, out)


if __name__ == "__main__":
    main()
