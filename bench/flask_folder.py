#!/usr/bin/env python3
"""Generates benchmark data in a Flask data folder (used by file-100k.sh).

    flask_folder.py DIR USERS JOURNAL_ENTRIES

USERS > 0: writes .db_User.json with USERS users (legacy SHA-256 hashes, as
the Flask API stored them) and .db_UserSession.json with one session each
(digests, as session-auth stores them).
JOURNAL_ENTRIES > 0: appends that many put_session entries to a journal
generation in DIR, in the format ARCHITECTURE.md documents, as a crash
before compaction leaves them.
"""
import hashlib
import json
import os
import sys
import uuid
import zlib

TS = "2024-01-01T00:00:00"


def session(user_id, n):
    return {
        "id": str(uuid.uuid4()),
        "created_at": TS,
        "updated_at": TS,
        "user_id": user_id,
        "session_id": hashlib.sha256(f"token-{n}-{uuid.uuid4()}".encode()).hexdigest(),
        "last_used_at": TS,
        "client_address": "192.0.2.1",
        "user_agent": "bench/1.0",
    }


def main():
    folder, users, entries = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if users:
        user_records, session_records = {}, {}
        for n in range(users):
            uid = str(uuid.uuid4())
            user_records[uid] = {
                "id": uid,
                "created_at": TS,
                "updated_at": TS,
                "email": f"user{n}@example.com",
                "_password": hashlib.sha256(f"password-{n}".encode()).hexdigest(),
                "first_name": f"First{n}",
                "last_name": f"Last{n}",
            }
            s = session(uid, n)
            session_records[s["id"]] = s
        with open(os.path.join(folder, ".db_User.json"), "w") as f:
            json.dump(user_records, f)
        with open(os.path.join(folder, ".db_UserSession.json"), "w") as f:
            json.dump(session_records, f)
    if entries:
        with open(os.path.join(folder, ".db_User.json")) as f:
            ids = list(json.load(f))
        generations = [
            int(n[len(".session-auth.journal."):])
            for n in os.listdir(folder)
            if n.startswith(".session-auth.journal.")
        ]
        path = os.path.join(folder, f".session-auth.journal.{max(generations, default=1)}")
        with open(path, "ab") as f:
            for n in range(entries):
                ops = json.dumps([{"put_session": session(ids[n % len(ids)], n)}]).encode()
                f.write(b"%08x " % zlib.crc32(ops) + ops + b"\n")


if __name__ == "__main__":
    main()
