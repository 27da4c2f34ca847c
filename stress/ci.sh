#!/usr/bin/env bash
# CI entry of the stress suite (issue 8): every probe with its CI-sized
# rounds against a debug build, PostgreSQL at 127.0.0.1:5432 (trust auth).
# Needs root for the disk-full probe's tmpfs (it skips and says so
# otherwise) and `pip install schemathesis` for the schemathesis probe.
#   STRESS_BINARY=path      test this binary instead of building one
#   STRESS_SCHEMATHESIS=report   print schemathesis failures, do not fail on them
#   STRESS_ARGS="..."       more arguments for stress/run.py
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
binary="${STRESS_BINARY:-$target/debug/session-auth}"
if [ -z "${STRESS_BINARY:-}" ]; then
  cargo build -p "${STRESS_PACKAGE:-session-auth}"
fi
args=(--binary "$binary")
[ "${STRESS_SCHEMATHESIS:-}" = report ] && args+=(--schemathesis-report-only)
command -v schemathesis >/dev/null || pip install --quiet schemathesis
# shellcheck disable=SC2086
exec timeout 1500 python3 stress/run.py "${args[@]}" ${STRESS_ARGS:-}
