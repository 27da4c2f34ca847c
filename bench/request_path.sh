#!/usr/bin/env bash
# The weight of session-auth's request path against poem's own, side by
# side in one run:
#   bench/request_path.sh
# Starts the peers of bench/peers (bare poem answering /status; poem with a
# HashMap of sessions answering /users/me) and session-auth on memory, file
# and SQLite storage (each with one signed-in session; request ids, limits and the
# access log at their defaults), then measures, in ROUNDS rounds (default
# 3), each server in turn with wrk (1 thread, 32 connections, DURATION
# seconds, default 10) while the others sit idle. Prints, per case, the
# median of the rounds for req/s and the server's CPU per request (from
# /proc), and the ratios the goals are stated in:
#   GET /status        session-auth / bare poem
#   GET /users/me      session-auth / poem + HashMap
#   METRICS=true       session-auth with metrics / without (file storage)
#   GET /users/me      SQLite / file storage, and SQLite's µs (goal <= 60)
# Environment: ROUNDS, DURATION, PORT (first port; the servers use PORT to
# PORT+5), BIN, PEERS (folder of the peers' binaries).
source "$(dirname "$0")/lib.sh"
ROUNDS="${ROUNDS:-3}"
PEERS="${PEERS:-$(dirname "$BIN")}"
[ -x "$PEERS/bare_poem" ] && [ -x "$PEERS/poem_sessions" ] \
  || cargo build --locked --release -p bench-peers
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

wait_for() {
  for _ in $(seq 200); do
    curl -s -o /dev/null "http://127.0.0.1:$1$2" && return 0
    sleep 0.05
  done
  echo "nothing answers on port $1" >&2; exit 1
}

# start_ours PORT STORAGE [VAR=VALUE…]: session-auth with one user
# (bench@example.com, signed in as session token-0 on file storage).
start_ours() {
  local port=$1 storage=$2; shift 2
  local dir="$WORK/ours-$port"
  mkdir -p "$dir"
  printf '%s' bench-password > "$dir/password"
  [ "$storage" = file ] && python3 "$BENCH/flask_data.py" "$dir" 1 0 >/dev/null
  [ "$storage" = sqlite ] && set -- DATABASE_URL="sqlite://$dir/bench.db?mode=rwc" "$@"
  env STORAGE="$storage" DATA_DIR="$dir" AUTH_TYPE=session_db_auth LOG_LEVEL=warn \
    API_HOST=127.0.0.1 API_PORT="$port" BOOTSTRAP_EMAIL=bench@example.com \
    BOOTSTRAP_PASSWORD_FILE="$dir/password" "$@" "$BIN" serve >/dev/null 2>&1 &
  PIDS+=($!)
  wait_for "$port" /api/v1/status
}

# The cookie of a new session of bench@example.com on PORT.
sign_in() {
  curl -si -X POST "http://127.0.0.1:$1/api/v1/auth_session/login" \
    -d 'email=bench@example.com&password=bench-password' | tr -d '\r' \
    | sed -n 's/^set-cookie: \([^;]*\);.*/\1/ip'
}

# measure_into CASE PID URL [COOKIE]: one wrk run; appends "CASE req/s µs".
measure_into() {
  local case=$1 pid=$2 url=$3 cookie=${4:-} s0 s1
  local args=(-t1 -c32 -d"${DURATION}s" -s "$WORK/report.lua")
  [ -n "$cookie" ] && args+=(-H "Cookie: $cookie")
  s0=$(ticks_of "$pid")
  wrk "${args[@]}" "$url" > "$WORK/wrk.out"
  s1=$(ticks_of "$pid")
  grep '^RESULT' "$WORK/wrk.out" | sed 's/RESULT //' | awk -v c="$case" -v s=$((s1 - s0)) -v t="$TICK" '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    END {
      if (v["errors"] > 0) { print "errors in " c > "/dev/stderr"; exit 1 }
      n = v["requests"]; printf "%s %.0f %.2f\n", c, n / (v["duration_us"] / 1e6), s * 1e6 / t / n
    }' >> "$WORK/results"
}

PORT_BARE=$PORT PORT_PEER=$((PORT + 1)) PORT_MEM=$((PORT + 2)) PORT_FILE=$((PORT + 3)) PORT_METRICS=$((PORT + 4)) PORT_SQLITE=$((PORT + 5))
PORT=$PORT_BARE "$PEERS/bare_poem" & PIDS+=($!); BARE=$!
PORT=$PORT_PEER SESSIONS=1 "$PEERS/poem_sessions" & PIDS+=($!); PEER=$!
start_ours "$PORT_MEM" memory; MEM=${PIDS[-1]}
start_ours "$PORT_FILE" file; FILE=${PIDS[-1]}
start_ours "$PORT_METRICS" file METRICS=true; METRICS=${PIDS[-1]}
start_ours "$PORT_SQLITE" sqlite; SQLITE=${PIDS[-1]}
wait_for "$PORT_BARE" /api/v1/status
wait_for "$PORT_PEER" /api/v1/users/me
MEM_COOKIE=$(sign_in "$PORT_MEM")
FILE_COOKIE=_my_session_id=token-0
[ -n "$MEM_COOKIE" ] || { echo "sign-in on memory storage failed" >&2; exit 1; }
SQLITE_COOKIE=$(sign_in "$PORT_SQLITE")
[ -n "$SQLITE_COOKIE" ] || { echo "sign-in on SQLite storage failed" >&2; exit 1; }

echo "== request path, ${ROUNDS} rounds of ${DURATION}s runs, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
  measure_into status_bare "$BARE" "http://127.0.0.1:$PORT_BARE/api/v1/status"
  measure_into status_memory "$MEM" "http://127.0.0.1:$PORT_MEM/api/v1/status"
  measure_into status_file "$FILE" "http://127.0.0.1:$PORT_FILE/api/v1/status"
  measure_into me_peer "$PEER" "http://127.0.0.1:$PORT_PEER/api/v1/users/me" _my_session_id=token-0
  measure_into me_memory "$MEM" "http://127.0.0.1:$PORT_MEM/api/v1/users/me" "$MEM_COOKIE"
  measure_into me_file "$FILE" "http://127.0.0.1:$PORT_FILE/api/v1/users/me" "$FILE_COOKIE"
  measure_into me_file_metrics "$METRICS" "http://127.0.0.1:$PORT_METRICS/api/v1/users/me" "$FILE_COOKIE"
  measure_into me_sqlite "$SQLITE" "http://127.0.0.1:$PORT_SQLITE/api/v1/users/me" "$SQLITE_COOKIE"
  echo "round $round of $ROUNDS done, load $(cut -d' ' -f1 /proc/loadavg)"
done
awk '
  { rps[$1] = rps[$1] " " $2; us[$1] = us[$1] " " $3 }
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    split("status_bare status_memory status_file me_peer me_memory me_file me_file_metrics me_sqlite", order, " ")
    printf "%-18s %10s %14s\n", "case", "req/s", "server µs/req"
    for (i = 1; i <= 8; i++) { c = order[i]; m[c] = median(us[c]); printf "%-18s %10.0f %14.1f\n", c, median(rps[c]), m[c] }
    printf "ratio /status, memory / bare poem:          %.2f (goal <= 1.2)\n", m["status_memory"] / m["status_bare"]
    printf "ratio /status, file / bare poem:            %.2f (goal <= 1.2)\n", m["status_file"] / m["status_bare"]
    printf "ratio /users/me, memory / poem + HashMap:   %.2f (goal <= 1.5)\n", m["me_memory"] / m["me_peer"]
    printf "ratio /users/me, file / poem + HashMap:     %.2f (goal <= 1.5)\n", m["me_file"] / m["me_peer"]
    printf "ratio METRICS=true / off, /users/me, file:  %.2f (goal <= 1.1)\n", m["me_file_metrics"] / m["me_file"]
    printf "ratio /users/me, SQLite / file:             %.2f\n", m["me_sqlite"] / m["me_file"]
    printf "/users/me on SQLite, server µs/req:         %.1f (goal <= 60)\n", m["me_sqlite"]
  }' "$WORK/results"
