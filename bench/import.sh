#!/usr/bin/env bash
# `session-auth import` of a generated Flask folder (default 100,000 users
# with one session each) into a fresh database, then again (everything
# present):
#   bench/import.sh postgres | sqlite [COUNT]
# On PostgreSQL the import runs twice side by side, in plain text
# (`sslmode=disable`) and over TLS (`sslmode=require`), each into its own
# fresh database, and prints the ratio. A server without TLS is given a
# self-signed certificate for the run (ALTER SYSTEM + reload, undone at the
# end; needs a superuser URL and `openssl`). Environment as for
# bench/sessions.sh.
source "$(dirname "$0")/lib.sh"
storage="${1:-postgres}"
count="${2:-100000}"
python3 "$BENCH/flask_data.py" "$WORK/flask" "$count" 0

# Prints the wall time, in seconds, of one import with the current settings.
timed_import() {
  local start end
  start=$(date +%s.%N)
  "$BIN" import --from "$WORK/flask" >/dev/null 2>"$WORK/import.err" \
    || { echo "the import failed:" >&2; cat "$WORK/import.err" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }'
}

# Gives the PostgreSQL server a self-signed certificate when TLS is off.
TLS_ADDED=
ensure_server_tls() {
  [ "$(psql -Atq "$PGURL/postgres" -c 'SHOW ssl')" = on ] && return 0
  local dir; dir=$(psql -Atq "$PGURL/postgres" -c 'SHOW data_directory')
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -keyout "$dir/bench-tls.key" -out "$dir/bench-tls.crt" 2>/dev/null
  chown --reference="$dir" "$dir/bench-tls.key" "$dir/bench-tls.crt"
  chmod 600 "$dir/bench-tls.key"
  psql -q "$PGURL/postgres" -c "ALTER SYSTEM SET ssl_cert_file = '$dir/bench-tls.crt'" \
    -c "ALTER SYSTEM SET ssl_key_file = '$dir/bench-tls.key'" -c "ALTER SYSTEM SET ssl = on" \
    -c 'SELECT pg_reload_conf()' >/dev/null
  TLS_ADDED=1
  sleep 1
}
undo_server_tls() {
  [ -n "$TLS_ADDED" ] || return 0
  psql -q "$PGURL/postgres" -c 'ALTER SYSTEM RESET ssl' -c 'ALTER SYSTEM RESET ssl_cert_file' \
    -c 'ALTER SYSTEM RESET ssl_key_file' -c 'SELECT pg_reload_conf()' >/dev/null
}

echo "== $storage: import of $count users and $count sessions, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$storage" = postgres ]; then
  ensure_server_tls
  trap 'undo_server_tls; stop_server; rm -rf "$WORK"' EXIT
  declare -A first again
  for mode in disable require; do
    PGPARAMS="sslmode=$mode" use_storage postgres "session_auth_import_$mode"
    first[$mode]=$(timed_import)
    again[$mode]=$(timed_import)
    echo "sslmode=$mode: first run ${first[$mode]} s, again ${again[$mode]} s"
  done
  awk -v t="${first[require]}" -v p="${first[disable]}" \
    'BEGIN { printf "TLS / plain text, first run: %.2f\n", t / p }'
else
  use_storage "$storage" session_auth_import
  echo "first run: $(timed_import) s"
  echo "again run: $(timed_import) s"
fi
