#!/usr/bin/env python3
"""The stress suite of issue 8: runs each probe against the real binary on
127.0.0.1 and prints, per probe, what it tried and what held. Exits 1 when
a probe found a violation, 2 on a usage or set-up error.

    python3 stress/run.py                      # every probe, CI-sized rounds
    python3 stress/run.py --rounds 100 memory  # one probe, long run
    python3 stress/run.py --list

See stress/README.md.
"""

import argparse
import importlib
import os
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "probes"))

from harness import STORAGES, Report, Skip, postgres_available  # noqa: E402

# In the order of the table.
PROBES = [
    "memory_growth",
    "lost_updates",
    "login_vs_delete",
    "disk_full",
    "kill9",
    "slow_clients",
    "bad_bytes",
    "overflow_settings",
    "blocked_statements",
    "schemathesis_run",
    "cluster_faults",
    "outage",
]


class Context:
    def __init__(self, args):
        self.args = args
        self.binary = args.binary
        self.has_postgres = postgres_available()

    def rounds(self, default):
        return self.args.rounds if self.args.rounds else default

    def storages(self, wanted=STORAGES):
        chosen = [s for s in wanted if s in self.args.storage]
        if "postgres" in chosen and not self.has_postgres:
            print("  [skip] postgres: not reachable (set STRESS_PG)", flush=True)
            self.skipped.append("postgres not reachable")
            chosen.remove("postgres")
        return chosen


def ensure_binary(args):
    if os.path.exists(args.binary):
        return
    if args.binary != parser_default_binary():
        sys.exit(f"stress: no binary at {args.binary}")
    print(f"stress: {args.binary} missing, building it with `cargo build -p {args.package}`",
          flush=True)
    subprocess.run(["cargo", "build", "-p", args.package], cwd=ROOT, check=True)
    if not os.path.exists(args.binary):
        sys.exit(f"stress: cargo built, but {args.binary} is still missing")


def parser_default_binary():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "debug", "session-auth")


def main():
    modules = {name: importlib.import_module(name) for name in PROBES}
    names = {m.NAME: m for m in modules.values()}
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("probes", nargs="*", metavar="PROBE",
                   help="probes to run (default: all): " + ", ".join(names))
    p.add_argument("--binary", default=parser_default_binary(),
                   help="the session-auth binary (default: $CARGO_TARGET_DIR or target/, "
                        "debug/session-auth; built with cargo if missing)")
    p.add_argument("--package", default="session-auth", help="cargo package of the binary (for building)")
    p.add_argument("--rounds", type=int, default=0,
                   help="rounds per probe (each probe's docstring says what a round is); "
                        "default: each probe's CI size")
    p.add_argument("--storage", default=",".join(STORAGES),
                   help="storages to try, comma-separated (default: all)")
    p.add_argument("--skip", default="", help="probes to leave out, comma-separated")
    p.add_argument("--list", action="store_true", help="list the probes and exit")
    p.add_argument("--seed", type=int, default=8, help="random seed (kill timing, schemathesis)")
    p.add_argument("--memory-bound-mb", type=float, default=150,
                   help="memory probe: largest resident memory allowed (default 150)")
    p.add_argument("--header-wait", type=float, default=45,
                   help="slow-clients probe: seconds the server gets to close slow "
                        "connections (default 45)")
    # With more blocked requests than pooled connections, a request may wait
    # DB_POOL_ACQUIRE (5 s) for a connection and then DB_STATEMENT_TIMEOUT
    # (5 s) for its statement: 10 s plus scheduling on a loaded machine.
    p.add_argument("--statement-wait", type=float, default=13,
                   help="blocked-sql probe: seconds a blocked request may take to answer "
                        "503: the pool's acquire timeout plus the statement timeout, "
                        "with a margin (default 13)")
    p.add_argument("--schemathesis-report-only", action="store_true",
                   help="print schemathesis failures without failing the probe")
    args = p.parse_args()
    args.storage = [s for s in args.storage.split(",") if s]
    if args.list:
        for name, m in names.items():
            first = (m.__doc__ or "").strip().splitlines()[0]
            print(f"{name:14} {first}")
        return 0
    unknown = [n for n in args.probes + [s for s in args.skip.split(",") if s] if n not in names]
    unknown += [s for s in args.storage if s not in STORAGES]
    if unknown:
        p.error(f"unknown probe or storage: {', '.join(unknown)}")
    if args.rounds < 0:
        p.error("--rounds must be positive")
    chosen = [n for n in (args.probes or list(names)) if n not in args.skip.split(",")]
    args.binary = os.path.abspath(args.binary)
    ensure_binary(args)
    ctx = Context(args)
    print(f"stress: binary {args.binary}; probes {', '.join(chosen)}; "
          f"rounds {args.rounds or 'CI defaults'}; storages {','.join(args.storage)}", flush=True)

    results = []
    suite_start = time.monotonic()
    for name in chosen:
        module = names[name]
        report = Report(name)
        ctx.skipped = report.skips
        print(f"\n== {name}: {(module.__doc__ or '').strip().splitlines()[0]}", flush=True)
        start = time.monotonic()
        try:
            module.run(ctx, report)
        except Skip as e:
            report.skip(str(e))
        except Exception:  # a probe that crashes has found nothing; say so and go on
            traceback.print_exc()
            report.check(False, "the probe itself crashed (see the traceback above)")
        took = time.monotonic() - start
        results.append((name, report, took))
        state = "FAIL" if report.failures else ("skip" if not report.checks else "ok")
        print(f"-- {name}: {state} ({len(report.checks) - len(report.failures)}/"
              f"{len(report.checks)} checks held, {took:.0f} s)", flush=True)

    print(f"\n== summary ({time.monotonic() - suite_start:.0f} s)")
    failed = False
    for name, report, took in results:
        if report.failures:
            failed = True
            state = "FAIL"
        elif not report.checks:
            state = "SKIP"
        else:
            state = "ok"
        extra = f"; skipped: {'; '.join(report.skips)}" if report.skips else ""
        print(f"{state:5} {name:14} {took:5.0f} s  {len(report.failures)} violation(s){extra}")
        for what in report.failures:
            print(f"        - {what}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
