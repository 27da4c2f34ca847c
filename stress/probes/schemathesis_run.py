"""schemathesis `run --checks all` against /api/v1/openapi.json with a
session cookie, on memory, file, SQLite and PostgreSQL: every failure it
finds is a place where the document and the server disagree (or a 5xx).

The probe fails when schemathesis reports failures, unless
--schemathesis-report-only is given (then they are printed and the probe
passes). Memory storage runs with AUTH_TYPE=none (nothing can create its
first user otherwise), so no cookie there. Operations that end the probe's
own session (logout, DELETE /auth_session/sessions) are left out, or every
later request would be a 403 that says nothing about the document.
A round is 10 examples per operation (--max-examples).
"""

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

from harness import Skip, serving, store

NAME = "schemathesis"
DEFAULT_ROUNDS = 2  # 20 examples per operation
TIME_BUDGET = 100  # seconds per storage


def schemathesis_command():
    for exe in ("schemathesis", "st"):
        path = shutil.which(exe)
        if path:
            return [path]
    raise Skip("schemathesis is not installed (pip install schemathesis)")


def run(ctx, report):
    cmd = schemathesis_command()
    examples = 10 * ctx.rounds(DEFAULT_ROUNDS)
    report.report_only = ctx.args.schemathesis_report_only
    if report.report_only:
        report.note("report-only: failures are printed, the probe does not fail on them")
    for kind in ctx.storages():
        with store(kind) as st, serving(ctx.binary, st, admin=("admin@example.com", "admin-pw")) as srv:
            headers = []
            if kind != "memory":
                cookie, r = srv.login("admin@example.com", "admin-pw")
                if not report.check(cookie, f"{kind}: admin login ({r.status})"):
                    continue
                headers = ["-H", f"Cookie: {cookie}"]
            junit = os.path.join(st.dir, "junit.xml")
            argv = cmd + [
                "run", f"http://127.0.0.1:{srv.port}/api/v1/openapi.json",
                "--checks", "all", "--max-examples", str(examples),
                "--max-time", str(TIME_BUDGET), "--request-timeout", "10",
                "--exclude-path-regex", "logout",
                "--exclude-by", '/method == "DELETE" and /path == "/api/v1/auth_session/sessions"',
                "--no-color", "--seed", str(ctx.args.seed),
                "--report", "junit", "--report-junit-path", junit,
            ] + headers
            env = dict(os.environ, SCHEMATHESIS_HOOKS="", NO_COLOR="1")
            try:
                out = subprocess.run(argv, capture_output=True, text=True, timeout=TIME_BUDGET + 60,
                                     env=env, cwd=st.dir)
            except subprocess.TimeoutExpired:
                report.check(False, f"{kind}: schemathesis did not finish within {TIME_BUDGET + 60} s")
                continue
            text = out.stdout + out.stderr
            failures = junit_failures(junit)
            if failures is None:
                report.note(f"{kind}: schemathesis exit {out.returncode}, no JUnit report; "
                            f"output tail:\n{text[-1500:]}")
                report.check(False, f"{kind}: schemathesis ran and reported")
                continue
            summary = [line.strip() for line in text.splitlines()
                       if re.search(r"\b(passed|failed|errored|skipped)\b", line)
                       and len(line) < 200][-3:]
            report.note(f"{kind}: schemathesis exit {out.returncode}; {' | '.join(summary)}")
            for operation, message in failures[:20]:
                report.note(f"{kind}: FAILURE {operation}: {message}")
            errors = out.returncode != 0 and not failures
            if errors:
                report.note(f"{kind}: output tail:\n{text[-1500:]}")
            ok = not failures and out.returncode == 0
            what = (f"{kind}: schemathesis --checks all found {len(failures)} failure(s) "
                    f"({examples} examples per operation)")
            if report.report_only:
                report.note(("[report-only ok] " if ok else "[report-only FAIL] ") + what)
            else:
                report.check(ok, what)
            report.check(not srv.panicked(), f"{kind}: no panic in the log")


def junit_failures(path):
    """(operation, first line of each distinct failure) from the JUnit report."""
    if not os.path.exists(path):
        return None
    found = []
    for case in ET.parse(path).getroot().iter("testcase"):
        for tag in ("failure", "error"):
            for node in case.findall(tag):
                text = (node.get("message") or node.text or "").strip()
                titles = [line.strip() for line in text.splitlines()
                          if line.strip().startswith(("- ", "  - ")) or line.strip().startswith("-")]
                for title in titles or [text.splitlines()[0] if text else tag]:
                    found.append((case.get("name"), title.lstrip("- ")[:160]))
    return found
