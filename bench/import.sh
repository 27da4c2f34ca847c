#!/usr/bin/env bash
# `session-auth import` of a generated Flask folder (default 100,000 users
# with one session each) into a fresh database, then again (everything
# present):
#   bench/import.sh postgres | sqlite [COUNT]
# Prints the wall time of each run. Environment as for bench/sessions.sh.
source "$(dirname "$0")/lib.sh"
storage="${1:-postgres}"
count="${2:-100000}"
use_storage "$storage" session_auth_import
python3 "$BENCH/flask_data.py" "$WORK/flask" "$count" 0
echo "== $storage: import of $count users and $count sessions, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for run in first again; do
  start=$(date +%s.%N)
  "$BIN" import --from "$WORK/flask" 2>/dev/null | head -1
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" -v r="$run" 'BEGIN { printf "%-6s run: %.1f s\n", r, e - s }'
done
