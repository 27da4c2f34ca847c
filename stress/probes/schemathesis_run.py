"""schemathesis `run --checks all` against /api/v1/openapi.json with a
session cookie, on memory, file, SQLite and PostgreSQL: every failure it
finds is a place where the document and the server disagree (or a 5xx).

The probe fails when schemathesis reports failures, unless
--schemathesis-report-only is given (then they are printed and the probe
passes). Memory storage runs with AUTH_TYPE=none (nothing can create its
first user otherwise), so no cookie there, and the `ignored_auth` check
(ST401, "API accepts invalid authentication") is left out there since
authentication is off by configuration. Operations that end the probe's
own session (logout, DELETE /auth_session/sessions, and DELETE
/users/<id>: schemathesis learns the probe user's id from responses and
deletes it) are left out, and so is the stateful phase (it follows links to the probe's own user and
session and ends them), or every later request would be a 403 that says
nothing about the document.
A round is 5 examples per operation (--max-examples) and 40 s per storage.
"""

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

from harness import Skip, serving, store

NAME = "schemathesis"
DEFAULT_ROUNDS = 1


def schemathesis_command():
    for exe in ("schemathesis", "st"):
        path = shutil.which(exe)
        if path:
            return [path]
    raise Skip("schemathesis is not installed (pip install schemathesis)")


def run(ctx, report):
    cmd = schemathesis_command()
    examples = 5 * ctx.rounds(DEFAULT_ROUNDS)
    budget = 40 * ctx.rounds(DEFAULT_ROUNDS)
    report.report_only = ctx.args.schemathesis_report_only
    if report.report_only:
        report.note("report-only: failures are printed, the probe does not fail on them")
    for kind in ctx.storages():
        with store(kind) as st, serving(ctx.binary, st, admin=("admin@example.com", "admin-pw")) as srv:
            # `/users/me` is documented as itself (GET) but is also
            # `/users/{user_id}`, so the contract's 405 there lists GET, PUT
            # and DELETE, which schemathesis reads as undocumented methods.
            # The Allow header of every route is checked against the contract
            # in tests/tests/http/http_additions.rs instead.
            headers = ["--exclude-checks", "allow_header_conformance"]
            # A duplicate email is a conflict with stored data, which no
            # schema can express; the Flask contract answers it 400.
            config_text = ('[[operations]]\ninclude-name = "POST /api/v1/users"\n'
                           '[operations.checks.positive_data_acceptance]\n'
                           'expected-statuses = ["2xx", "400"]\n')
            if kind != "memory":
                cookie, r = srv.login("admin@example.com", "admin-pw")
                if not report.check(cookie, f"{kind}: admin login ({r.status})"):
                    continue
                # Named after the document's cookie scheme, so schemathesis
                # knows it is the authentication (and leaves it alone when
                # it sends data that must be refused).
                token = cookie.split("=", 1)[1]
                config_text = f'[auth.openapi.session_cookie]\napi_key = "{token}"\n\n' + config_text
            else:
                headers = ["--exclude-checks", "allow_header_conformance,ignored_auth"]
            config = os.path.join(st.dir, "schemathesis.toml")
            with open(config, "w") as f:
                f.write(config_text)
            cmd_prefix = ["--config-file", config]
            junit = os.path.join(st.dir, "junit.xml")
            argv = cmd + cmd_prefix + [
                "run", f"http://127.0.0.1:{srv.port}/api/v1/openapi.json",
                "--checks", "all", "--max-examples", str(examples),
                "--max-time", str(budget), "--request-timeout", "10",
                "--phases", "examples,coverage,fuzzing",
                "--exclude-name", "DELETE /api/v1/auth_session/logout",
                "--exclude-name", "DELETE /api/v1/auth_session/sessions",
                "--exclude-name", "DELETE /api/v1/users/{user_id}",
                "--no-color", "--seed", str(ctx.args.seed),
                "--report", "junit", "--report-junit-path", junit,
            ] + headers
            env = dict(os.environ, SCHEMATHESIS_HOOKS="", NO_COLOR="1")
            try:
                out = subprocess.run(argv, capture_output=True, text=True, timeout=budget + 60,
                                     env=env, cwd=st.dir)
            except subprocess.TimeoutExpired:
                report.check(False, f"{kind}: schemathesis did not finish within {budget + 60} s")
                continue
            text = out.stdout + out.stderr
            if kind != "memory":
                alive = srv.req("GET", "/users/me", cookie=cookie).status
                report.note(f"{kind}: the probe's session after the run: GET /users/me {alive}")
            failures, tested = junit_failures(junit)
            if failures is None:
                report.note(f"{kind}: schemathesis exit {out.returncode}, no JUnit report; "
                            f"output tail:\n{text[-1500:]}")
                report.check(False, f"{kind}: schemathesis ran and reported")
                continue
            summary = [line.strip() for line in text.splitlines()
                       if re.search(r"\b(passed|failed|errored|skipped)\b", line)
                       and len(line) < 200][-3:]
            report.note(f"{kind}: schemathesis exit {out.returncode}, {tested} operations tested; "
                        f"{' | '.join(summary)}")
            for operation, message in failures[:25]:
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
    """([(operation, "STxxx title: status and body")], operations tested) from
    the JUnit report; (None, 0) when there is none."""
    if not os.path.exists(path):
        return None, 0
    found = []
    cases = list(ET.parse(path).getroot().iter("testcase"))
    for case in cases:
        for tag in ("failure", "error"):
            for node in case.findall(tag):
                text = node.text or node.get("message") or tag
                lines = [line.strip() for line in text.splitlines()]
                response = ""
                for i, line in enumerate(lines):
                    if re.match(r"^\[\d{3}\]", line):
                        body = next((x for x in lines[i + 1:] if x), "")
                        response = f" -> {line.rstrip(':')} {body[:100]}"
                        break
                titles = []
                for i, line in enumerate(lines):
                    if re.match(r"^- ST\d+ ", line):
                        detail = next((x for x in lines[i + 1:] if x), "")
                        titles.append(f"{line[2:]} ({detail[:100]})")
                if not titles:
                    titles = [next((x for x in lines if x), tag)]
                for title in titles:
                    found.append((case.get("name"), f"{title[:180]}{response}"))
    return found, len(cases)
