# Shared by the bench/*.sh scripts (sourced, not run): the release binary,
# a server to start and stop, CPU time from /proc, and wrk runs that print
# one parseable line. Nothing here asserts anything.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BENCH=$PWD/bench
DURATION="${DURATION:-10}"            # seconds per wrk run
PORT="${PORT:-5077}"
PGURL="${PGURL:-postgres://postgres@127.0.0.1:5432}"   # server, without a database
# sslmode=disable: no TLS on loopback (libpq's default, prefer, encrypts).
PGPARAMS="${PGPARAMS:-sslmode=disable}"
BIN="${BIN:-${CARGO_TARGET_DIR:-target}/release/session-auth}"
[ -x "$BIN" ] || cargo build --locked --release -p session-auth
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }
TICK=$(getconf CLK_TCK)
WORK=$(mktemp -d)
SERVER=
trap 'stop_server; rm -rf "$WORK"' EXIT

# CPU time (clock ticks) of a process, all its threads.
ticks_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# CPU time of every PostgreSQL process on this machine, and of those that
# ended (a backend's time is added to the postmaster's children's time when
# it exits: pgbench's backends are gone when it returns).
pg_ticks() { { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '$2 == "(postgres)" {s += $14 + $15 + $16 + $17} END {print s + 0}'; }

# A fresh PostgreSQL database named $1.
fresh_pg_db() {
  psql -q "$PGURL/postgres" -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" -c "CREATE DATABASE \"$1\"" >/dev/null
}

# Storage settings for STORAGE=$1 in the environment (database $2 on PG).
use_storage() {
  export STORAGE="$1" DATA_DIR="$WORK/data" AUTH_TYPE=session_db_auth LOG_LEVEL=warn \
    API_HOST=127.0.0.1 API_PORT="$PORT" THROTTLE_ADDRESS_FAILURES=1000000 \
    THROTTLE_ACCOUNT_FAILURES=1000000
  mkdir -p "$DATA_DIR"
  case "$1" in
    postgres) fresh_pg_db "$2"; export DATABASE_URL="$PGURL/$2?$PGPARAMS" ;;
    sqlite) rm -f "$WORK/$2.db"*; export DATABASE_URL="sqlite://$WORK/$2.db?mode=rwc" ;;
  esac
}

start_server() {
  "$BIN" serve & SERVER=$!
  for _ in $(seq 200); do
    curl -sf "http://127.0.0.1:$PORT/api/v1/status" >/dev/null && return 0
    sleep 0.05
  done
  echo "the server did not start" >&2; exit 1
}
stop_server() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=; fi
}

# wrk script: a random session among tokens 0..$1 per request, and one
# RESULT line at the end.
cat > "$WORK/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status))
end
LUA
sessions_lua() {
  cat "$WORK/report.lua" > "$WORK/sessions.lua"
  cat >> "$WORK/sessions.lua" <<LUA
local tokens = $1
request = function()
  return wrk.format(nil, nil, {Cookie = "_my_session_id=token-" .. math.random(0, tokens)})
end
LUA
  echo "$WORK/sessions.lua"
}

# measure LABEL WRK-ARGS…: runs wrk (1 thread, 32 connections unless the
# arguments say otherwise) and prints LABEL, req/s, p50, p99, the server's
# CPU per request and PostgreSQL's.
measure() {
  local label=$1; shift
  local s0 p0 s1 p1
  s0=$(ticks_of "$SERVER"); p0=$(pg_ticks)
  wrk -t1 -c32 -d"${DURATION}s" "$@" > "$WORK/wrk.out"
  s1=$(ticks_of "$SERVER"); p1=$(pg_ticks)
  grep '^RESULT' "$WORK/wrk.out" | sed 's/RESULT //' | awk -v l="$label" -v s=$((s1 - s0)) -v p=$((p1 - p0)) -v t="$TICK" '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    END {
      n = v["requests"]; d = v["duration_us"] / 1e6
      printf "%-44s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  server %6.1f µs/req  postgres %6.1f µs/req  errors %d\n",
        l, n / d, v["p50_us"] / 1000, v["p99_us"] / 1000, s * 1e6 / t / n, p * 1e6 / t / n, v["errors"]
    }'
}

# pgbench's select-only ceiling on this server: -S -M prepared -c 32.
pgbench_ceiling() {
  local db=pgbench_ceiling
  if ! psql -q "$PGURL/$db" -c 'SELECT 1 FROM pgbench_accounts LIMIT 1' >/dev/null 2>&1; then
    fresh_pg_db "$db"
    pgbench -q -i -s 10 "$PGURL/$db" >/dev/null 2>&1
  fi
  local p0 p1 out
  p0=$(pg_ticks)
  out=$(pgbench -n -S -M prepared -c 32 -T "$DURATION" "$PGURL/$db?$PGPARAMS" 2>&1)
  p1=$(pg_ticks)
  echo "$out" | awk -v p=$((p1 - p0)) -v t="$TICK" '
    /^number of transactions actually processed/ { n = $NF + 0; split($0, a, ": "); n = a[2] + 0 }
    /^tps = / { tps = $3 }
    END { printf "%-44s %9.0f tps    postgres %6.1f µs/tx\n", "pgbench -S -M prepared -c 32", tps, p * 1e6 / t / n }'
}
