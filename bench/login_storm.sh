#!/usr/bin/env bash
# GET /api/v1/users/me latency while logins saturate the Argon2id threads:
#   bench/login_storm.sh postgres | sqlite | file
# First /users/me alone at a steady pace (4 connections, each waiting 5 ms
# between requests: about 600 req/s), then the same while 16 connections
# log in as fast as they can. Prints the latency percentiles of each and the
# logins per second. Environment as for bench/sessions.sh.
source "$(dirname "$0")/lib.sh"
storage="${1:-postgres}"
use_storage "$storage" session_auth_storm
python3 "$BENCH/flask_data.py" "$WORK/one" 1 0
"$BIN" import --from "$WORK/one" >/dev/null 2>&1
paced=$(sessions_lua 0)
echo 'delay = function() return 5 end' >> "$paced"
cat "$WORK/report.lua" > "$WORK/login.lua"
cat >> "$WORK/login.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "email=user0@bench.example&password=bench-password"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA

echo "== $storage, ${DURATION}s runs, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
start_server
measure "GET /users/me paced, alone" -c4 -s "$paced" "http://127.0.0.1:$PORT/api/v1/users/me"
wrk -t1 -c16 -d"$((DURATION + 4))s" -s "$WORK/login.lua" \
  "http://127.0.0.1:$PORT/api/v1/auth_session/login" > "$WORK/logins.out" & storm=$!
sleep 2
measure "GET /users/me paced, during the login storm" -c4 -s "$paced" "http://127.0.0.1:$PORT/api/v1/users/me"
wait "$storm"
grep '^RESULT' "$WORK/logins.out" | sed 's/RESULT //' | awk '
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
  END { printf "%-44s %9.1f /s     p99 %6.0f ms  errors %d\n", "logins (Argon2id m=19456 t=2 p=1)",
        v["requests"] / (v["duration_us"] / 1e6), v["p99_us"] / 1000, v["errors"] }'
