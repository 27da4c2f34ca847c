#!/usr/bin/env bash
# The cost of a session-authenticated GET /api/v1/users/me on SQL storage,
# with 1 session stored and with 100,001, next to PostgreSQL's own ceiling
# measured in the same run:
#   bench/sessions.sh postgres | sqlite | file
# Prints one line per measurement: req/s, latency, the server's CPU per
# request and PostgreSQL's (all its processes), both from /proc. wrk runs
# with 1 thread and 32 connections for $DURATION seconds (default 10);
# each request picks a random session among those stored.
# On PostgreSQL the server keeps the sessions it has seen in memory
# (SESSION_CACHE_SIZE, default 100000; 0 measures every request going to
# the database): the 100,001-session run is measured after a warm-up run of
# WARMUP seconds (default: DURATION) of the same random requests, which is
# not measured, so it shows the steady state of a server whose sessions are
# in use.
# Environment: DB_POOL_SIZE, SESSION_CACHE_SIZE, PGURL, PGPARAMS (default
# sslmode=disable), SESSIONS (default 100000), WARMUP, BIN.
source "$(dirname "$0")/lib.sh"
storage="${1:-postgres}"
large="${SESSIONS:-100000}"
use_storage "$storage" session_auth_bench
python3 "$BENCH/flask_data.py" "$WORK/one" 1 0
"$BIN" import --from "$WORK/one" >/dev/null 2>&1
[ -d "$WORK/many" ] || python3 "$BENCH/flask_data.py" "$WORK/many" "$large" 1

echo "== $storage, DB_POOL_SIZE=${DB_POOL_SIZE:-default}, SESSION_CACHE_SIZE=${SESSION_CACHE_SIZE:-default}, ${DURATION}s runs, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
start_server
measure "GET /status" -s "$WORK/report.lua" "http://127.0.0.1:$PORT/api/v1/status"
measure "GET /users/me, 1 session" -s "$(sessions_lua 0)" "http://127.0.0.1:$PORT/api/v1/users/me"
stop_server
if [ "$storage" != file ]; then
  "$BIN" import --from "$WORK/many" >/dev/null 2>&1
  # The state autovacuum brings a table to soon after a bulk load.
  [ "$storage" = postgres ] && psql -q "$PGURL/session_auth_bench" -c 'VACUUM ANALYZE' >/dev/null
  start_server
  wrk -t1 -c32 -d"${WARMUP:-$DURATION}s" -s "$(sessions_lua "$large")" "http://127.0.0.1:$PORT/api/v1/users/me" >/dev/null
  measure "GET /users/me, $((large + 1)) sessions" -s "$(sessions_lua "$large")" "http://127.0.0.1:$PORT/api/v1/users/me"
  stop_server
fi
if [ "$storage" = postgres ]; then
  pgbench_ceiling
fi
