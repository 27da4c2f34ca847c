#!/usr/bin/env bash
# Throughput of the hot paths on a release build, with wrk (Debian package
# `wrk`) on loopback: a session-authenticated GET /users/me, the unguarded
# GET /status, and form logins (Argon2id-bound). One storage per run:
#   bench/http.sh file | memory | sqlite | postgres   (postgres needs DATABASE_URL)
# Prints wrk's summary for each; nothing is asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
storage="${1:-file}"
duration="${DURATION:-10s}"
port="${PORT:-5077}"
bin="${BIN:-target/release/session-auth}"
[ -x "$bin" ] || cargo build --locked --release -p session-auth
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }

work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
export STORAGE="$storage" DATA_DIR="$work" AUTH_TYPE=session_db_auth LOG_LEVEL=warn \
  API_HOST=127.0.0.1 API_PORT="$port" THROTTLE_ADDRESS_FAILURES=1000000
[ "$storage" = sqlite ] && export DATABASE_URL="sqlite://$work/bench.db?mode=rwc"
if [ "$storage" != memory ]; then
  printf '%s' bench-password | "$bin" user create --email bench@example.com --password-stdin >/dev/null
fi
"$bin" serve & server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/v1/status" >/dev/null && break; sleep 0.1; done
if [ "$storage" = memory ]; then
  curl -sf -X POST -H 'Content-Type: application/json' "http://127.0.0.1:$port/api/v1/users" \
    -d '{"email":"bench@example.com","password":"bench-password"}' >/dev/null || true
fi
cookie=$(curl -si -X POST "http://127.0.0.1:$port/api/v1/auth_session/login" \
  -d 'email=bench@example.com&password=bench-password' | tr -d '\r' \
  | sed -n 's/^set-cookie: \([^;]*\);.*/\1/ip')
[ -n "$cookie" ] || { echo "login failed" >&2; exit 1; }

echo "== $storage: GET /api/v1/users/me (session cookie)"
wrk -t2 -c32 -d"$duration" -H "Cookie: $cookie" "http://127.0.0.1:$port/api/v1/users/me"
echo "== $storage: GET /api/v1/status"
wrk -t2 -c32 -d"$duration" "http://127.0.0.1:$port/api/v1/status"
cat > "$work/login.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "email=bench@example.com&password=bench-password"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA
echo "== $storage: POST /api/v1/auth_session/login (Argon2id m=19456 t=2 p=1)"
wrk -t2 -c8 -d"$duration" -s "$work/login.lua" "http://127.0.0.1:$port/api/v1/auth_session/login"
