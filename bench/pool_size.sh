#!/usr/bin/env bash
# How DB_POOL_SIZE changes GET /api/v1/users/me on SQL storage: the sizes
# are measured in turn, ROUNDS times (default 3), on the same database with
# 1 session, so that a disturbance of the machine spreads over all sizes:
#   bench/pool_size.sh postgres | sqlite [SIZES…]   (default sizes 2 4 10 32)
# Prints every measurement; compare the medians.
source "$(dirname "$0")/lib.sh"
storage="${1:-postgres}"; shift || true
sizes="${*:-2 4 10 32}"
use_storage "$storage" session_auth_pool
python3 "$BENCH/flask_data.py" "$WORK/one" 1 0
"$BIN" import --from "$WORK/one" >/dev/null 2>&1
echo "== $storage, ${DURATION}s runs, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "${ROUNDS:-3}"); do
  for size in $sizes; do
    DB_POOL_SIZE=$size start_server
    measure "round $round, DB_POOL_SIZE=$size" -s "$(sessions_lua 0)" "http://127.0.0.1:$PORT/api/v1/users/me"
    stop_server
  done
done
