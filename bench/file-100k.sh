#!/usr/bin/env bash
# The file storage at 100,000 users + 100,000 sessions (issue 10), on a
# release build with wrk on loopback. Generates a Flask data folder of that
# size (plus a journal of 10,000 entries, as a crash would leave it) and
# prints:
#   - resident memory empty and at 100k, and per user + session;
#   - start-up time (spawn to first answer) on the 100k folder + journal;
#   - logins/s on a one-user store and on the 100k store, and the server's
#     CPU per login;
#   - the Argon2 limit of this machine, measured in the same run;
#   - GET /users/me p99 under a light load while the logins run.
# Nothing is asserted. DURATION (default 15s) is each login measurement's
# length, cut into SLICES (default 5) that alternate with slices measuring
# the Argon2 limit, so that both see the machine at the same speed.
# Start-up is measured STARTS times (default 3), each on a fresh copy of the
# folder + journal, as wall time and as the server's CPU time (utime + stime
# from /proc, which CPU contention from other processes barely changes).
# STARTUP_ONLY=1 measures memory and start-up only (no wrk, no logins).
#   bench/file-100k.sh
#   STARTUP_ONLY=1 bench/file-100k.sh
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${DURATION:-15s}"
seconds="${duration%s}"
slices="${SLICES:-5}"
port="${PORT:-5078}"
users="${USERS:-100000}"
journal_entries="${JOURNAL_ENTRIES:-10000}"
starts="${STARTS:-3}"
startup_only="${STARTUP_ONLY:-0}"
bin="${BIN:-target/release/session-auth}"
[ -x "$bin" ] || cargo build --locked --release -p session-auth
argon2_rate="${CARGO_TARGET_DIR:-target}/release/examples/argon2_rate"
[ "$startup_only" = 1 ] || cargo build --release -q -p adapter-crypto --example argon2_rate
[ "$startup_only" = 1 ] || command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }

work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
# SESSION_DURATION=0: the generated sessions are dated 2024; with an expiry
# the sweeper would delete all 100,000 of them right after start, and the
# figures would be those of a store of users only (plus the sweep's garbage).
export STORAGE=file AUTH_TYPE=session_db_auth LOG_LEVEL=warn API_HOST=127.0.0.1 \
  API_PORT="$port" THROTTLE_ADDRESS_FAILURES=1000000 THROTTLE_ACCOUNT_FAILURES=1000000 \
  SESSION_DURATION=0

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now() { date +%s.%N; }

# Starts the server on $1; sets $server, $startup (wall seconds to first
# answer) and $startup_cpu (the server's CPU seconds, user + system, by then).
start() {
  local t0; t0=$(now)
  DATA_DIR="$1" "$bin" serve & server=$!
  until curl -sf "http://127.0.0.1:$port/api/v1/status" >/dev/null; do sleep 0.005; done
  startup=$(echo "$(now) - $t0" | bc)
  startup_cpu=$(echo "scale=2; $(cpu_ticks "$server") / $(getconf CLK_TCK)" | bc)
}
stop() { kill -TERM "$server"; wait "$server" || true; server=; }

login_cookie() {
  curl -si -X POST "http://127.0.0.1:$port/api/v1/auth_session/login" \
    -d 'email=bench@example.com&password=bench-password' | tr -d '\r' \
    | sed -n 's/^set-cookie: \([^;]*\);.*/\1/ip'
}

cat > "$work/login.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "email=bench@example.com&password=bench-password"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA
# A light, steady /users/me load: each connection waits 20 ms between
# requests, so the latency measured is the server's, not wrk's queue.
cat > "$work/me.lua" <<'LUA'
function delay() return 20 end
LUA

# Logins on the running server, for $duration in all, in $slices slices;
# each slice is followed by a slice of the same length measuring the
# Argon2 limit (argon2_rate), so the machine's speed, which drifts by 10-20%
# from one ten-second window to the next on a shared VM, weighs on both
# alike. With a cookie as $1, GET /users/me runs alongside each login
# slice (not during the Argon2 slices). Prints "logins_per_s
# cpu_ms_per_login argon2_per_s" and, with a cookie, "me_p99_max
# me_rate_mean" on a second line.
logins() {
  local cookie=${1:-} slice n=0 t=0 ticks=0 verified=0 before after out reqs secs
  local p99s= rates=
  slice=$((seconds / slices)); [ "$slice" -ge 1 ] || slice=1
  for _ in $(seq "$slices"); do
    if [ -n "$cookie" ]; then
      wrk -t1 -c4 -d"${slice}s" --latency -s "$work/me.lua" -H "Cookie: $cookie" \
        "http://127.0.0.1:$port/api/v1/users/me" > "$work/me.txt" & me=$!
    fi
    before=$(cpu_ticks "$server")
    out=$(wrk -t2 -c8 -d"${slice}s" -s "$work/login.lua" "http://127.0.0.1:$port/api/v1/auth_session/login")
    after=$(cpu_ticks "$server")
    if [ -n "$cookie" ]; then
      wait "$me"
      p99s="$p99s $(awk '$1 == "99%" {print $2}' "$work/me.txt")"
      rates="$rates $(awk '/Requests\/sec/ {print $2}' "$work/me.txt")"
    fi
    read -r reqs secs < <(echo "$out" | awk '/requests in/ {sub(/s,$/, "", $4); print $1, $4}')
    n=$((n + reqs)); t=$(echo "$t + $secs" | bc -l); ticks=$((ticks + after - before))
    verified=$(echo "$verified + $("$argon2_rate" "$slice" | awk '{print $2}') * $slice" | bc -l)
  done
  echo "$(echo "$n / $t" | bc -l | cut -c1-6) $(echo "$ticks * 1000 / $(getconf CLK_TCK) / $n" | bc -l | cut -c1-5) $(echo "$verified / ($slice * $slices)" | bc -l | cut -c1-6)"
  if [ -n "$cookie" ]; then
    # The worst slice's p99 (wrk prints it with its unit: us or ms).
    echo "$(for p in $p99s; do case $p in *us) echo "${p%us} / 1000" | bc -l;; *ms) echo "${p%ms}";; *s) echo "${p%s} * 1000" | bc -l;; esac; done | sort -g | tail -1 | cut -c1-5)ms $(echo "$rates" | awk '{s = 0; for (i = 1; i <= NF; i++) s += $i; print s / NF}')"
  fi
}

echo "== empty folder"
mkdir "$work/empty"
start "$work/empty"; sleep 1
rss_empty=$(rss_kb "$server")
stop

small_rate=- small_cpu=0
if [ "$startup_only" != 1 ]; then
  echo "== one-user store: logins"
  mkdir "$work/small"
  printf "%s" bench-password | DATA_DIR="$work/small" "$bin" user create --email bench@example.com --password-stdin >/dev/null
  start "$work/small"
  read -r small_rate small_cpu small_argon2 < <(logins)
  stop
fi

echo "== generating $users users + $users sessions, and a journal of $journal_entries entries"
mkdir "$work/big"
python3 bench/flask_folder.py "$work/big" "$users" 0
printf '%s' bench-password | DATA_DIR="$work/big" "$bin" user create --email bench@example.com --password-stdin >/dev/null
python3 bench/flask_folder.py "$work/big" 0 "$journal_entries"
ls -la "$work/big"

echo "== 100k store: start-up ($starts times, each on a fresh copy) and memory"
startups=
for i in $(seq "$starts"); do
  rm -rf "$work/copy"; cp -a "$work/big" "$work/copy"
  start "$work/copy"
  echo "start $i: wall ${startup} s, CPU ${startup_cpu} s"
  startups="$startups$startup $startup_cpu
"
  if [ "$i" = 1 ]; then sleep 1; rss_big=$(rss_kb "$server"); fi
  stop
done
rm -rf "$work/copy"
# The run with the least wall time, and the least CPU time of all runs.
read -r big_startup big_startup_cpu < <(printf %s "$startups" | sort -n | head -1)
min_startup_cpu=$(printf %s "$startups" | awk '{print $2}' | sort -n | head -1)
per_record=$(echo "($rss_big - $rss_empty) * 1024 / $users" | bc)
memory_and_startup() {
  cat <<EOF

                                   result
resident memory, empty             $((rss_empty / 1024)) MB ($rss_empty kB)
resident memory, $users            $((rss_big / 1024)) MB ($rss_big kB), 1 s after the first answer
  per user + session               $per_record bytes   ((RSS 100k - RSS empty) / $users)
start-up, $users + $journal_entries-entry journal   best of $starts: wall ${big_startup} s (CPU ${big_startup_cpu} s); least CPU ${min_startup_cpu} s
EOF
}
if [ "$startup_only" = 1 ]; then memory_and_startup; exit 0; fi

echo "== 100k store: logins with /users/me alongside"
start "$work/big"
cookie=$(login_cookie)
[ -n "$cookie" ] || { echo "login failed" >&2; exit 1; }
{ read -r big_rate big_cpu big_argon2; read -r me_p99 me_rate; } < <(logins "$cookie")
t0=$(now); stop; shutdown=$(echo "$(now) - $t0" | bc)

memory_and_startup
cat <<EOF
clean shutdown (compaction)        ${shutdown} s
logins/s, one-user store           $small_rate   (server CPU $(printf %.1f "$small_cpu") ms/login); Argon2 limit in its slices $small_argon2/s: $(echo "$small_rate / $small_argon2" | bc -l | cut -c1-4)
logins/s, $users store             $big_rate   (server CPU $(printf %.1f "$big_cpu") ms/login); Argon2 limit in its slices $big_argon2/s
  ratio to one-user store          $(echo "$big_rate / $small_rate" | bc -l | cut -c1-4)
  logins / Argon2 limit            $(echo "$big_rate / $big_argon2" | bc -l | cut -c1-4)
GET /users/me during logins        p99 $me_p99 (worst login slice) at $me_rate req/s
EOF
