//! The operator commands of the real binary: users and sessions from the
//! CLI with the API's rules, passwords never on the command line, each
//! command's own help, and configuration errors that name what was set.
//! (The commands while a server runs: `while_serving.rs`.)

#![cfg(unix)]

use crate::support;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;
use support::*;

const SLOW: Duration = Duration::from_secs(60);

/// `session-auth ARGS` on `dir` (file storage) with `input` on stdin.
fn with_stdin(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)], input: &str) -> Finished {
    let mut command = session_auth(args);
    command
        .env("STORAGE", "file")
        .env("DATA_DIR", dir)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the binary runs");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let (stdout, out) = collect(child.stdout.take());
    let (stderr, err) = collect(child.stderr.take());
    let status = wait_for_exit(&mut child, SLOW).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("{args:?} did not finish")
    });
    let _ = (out.join(), err.join());
    Finished {
        status,
        stdout: snapshot(&stdout),
        stderr: snapshot(&stderr),
    }
}

fn on(dir: &std::path::Path, args: &[&str]) -> Finished {
    with_stdin(dir, args, &[], "")
}

#[test]
fn users_are_managed_from_the_cli_with_the_api_rules() {
    let dir = data_dir();
    let dir = dir.path();
    let create = [
        "user",
        "create",
        "--email",
        "ann@example.com",
        "--password-stdin",
    ];

    let short = with_stdin(dir, &create, &[("PASSWORD_MIN_LENGTH", "12")], "abc\n");
    assert!(!short.status.success(), "{}", short.describe());
    assert!(
        short
            .stderr
            .contains("password must be at least 12 characters"),
        "{}",
        short.describe()
    );

    let no_terminal = on(dir, &["user", "create", "--email", "ann@example.com"]);
    assert!(!no_terminal.status.success());
    assert!(
        no_terminal.stderr.contains("--password-stdin"),
        "{}",
        no_terminal.describe()
    );

    let created = with_stdin(
        dir,
        &create,
        &[("PASSWORD_MIN_LENGTH", "12")],
        "a long secret!\n",
    );
    assert!(created.status.success(), "{}", created.describe());
    let id = created.stdout.trim().to_owned();

    let duplicate = with_stdin(dir, &create, &[], "another secret\n");
    assert!(!duplicate.status.success());
    assert_eq!(
        duplicate.stderr.matches("already exists").count(),
        1,
        "said once: {}",
        duplicate.describe()
    );

    let list = on(dir, &["user", "list"]);
    assert!(list.status.success(), "{}", list.describe());
    assert!(
        list.stdout.contains(&id) && list.stdout.contains("ann@example.com"),
        "{}",
        list.stdout
    );

    let show = on(dir, &["user", "show", "ann@example.com"]);
    assert!(show.status.success(), "{}", show.describe());
    assert!(show.stdout.contains(&id), "{}", show.stdout);

    let reset = with_stdin(
        dir,
        &["user", "set-password", &id, "--password-stdin"],
        &[],
        "N3w secret\n",
    );
    assert!(reset.status.success(), "{}", reset.describe());

    let server = Server::start(dir, &[("AUTH_TYPE", "basic_auth")]);
    // ann@example.com:N3w secret
    let me = server.get(
        "/api/v1/users/me",
        &[(
            "Authorization",
            "Basic YW5uQGV4YW1wbGUuY29tOk4zdyBzZWNyZXQ=",
        )],
    );
    assert_eq!(me.status, 200, "{me:?}");
    server.stop();

    // Without a terminal to confirm on, nothing is deleted unless --yes.
    let unconfirmed = on(dir, &["user", "delete", "ann@example.com"]);
    assert!(!unconfirmed.status.success(), "{}", unconfirmed.describe());
    assert!(
        unconfirmed.stderr.contains("--yes"),
        "{}",
        unconfirmed.describe()
    );
    assert!(on(dir, &["user", "show", &id]).status.success());
    let delete = on(dir, &["user", "delete", "ann@example.com", "--yes"]);
    assert!(delete.status.success(), "{}", delete.describe());
    let gone = on(dir, &["user", "show", &id]);
    assert!(!gone.status.success());
    assert!(gone.stderr.contains("no user"), "{}", gone.describe());
}

#[test]
fn sessions_are_listed_and_revoked_by_user() {
    let dir = data_dir();
    let dir = dir.path();
    let created = with_stdin(
        dir,
        &[
            "user",
            "create",
            "--email",
            "bob@example.com",
            "--password-stdin",
        ],
        &[],
        "bob secret\n",
    );
    assert!(created.status.success(), "{}", created.describe());
    let server = Server::start(dir, &[]);
    assert_eq!(server.login("bob@example.com", "bob secret").status, 200);

    // While the server holds the folder, the CLI reads through it.
    let serving = on(dir, &["sessions", "list"]);
    assert!(serving.status.success(), "{}", serving.describe());
    assert!(
        serving.stdout.contains("bob@example.com"),
        "{}",
        serving.describe()
    );
    server.stop();

    let list = on(dir, &["sessions", "list", "--user", "bob@example.com"]);
    assert!(list.status.success(), "{}", list.describe());
    assert_eq!(
        list.stdout
            .lines()
            .filter(|l| l.starts_with("bob@example.com"))
            .count(),
        1,
        "{}",
        list.stdout
    );
    let revoke = on(dir, &["sessions", "revoke", "--user", "bob@example.com"]);
    assert!(revoke.status.success(), "{}", revoke.describe());
    assert!(
        revoke.stdout.contains("ended 1 session"),
        "{}",
        revoke.stdout
    );
    let after = on(dir, &["sessions", "list"]);
    assert_eq!(
        after.stdout.lines().count(),
        1,
        "only the header: {}",
        after.stdout
    );
}

#[test]
fn each_command_shows_only_its_own_options() {
    let top = run(session_auth(&["--help"]), QUICK);
    assert!(top.status.success());
    assert!(!top.stdout.contains("--api-port"), "{}", top.stdout);
    assert!(top.stdout.lines().count() < 40, "{}", top.stdout);

    let prune = run(session_auth(&["sessions", "prune", "--help"]), QUICK);
    assert!(!prune.stdout.contains("--api-port"), "{}", prune.stdout);
    assert!(
        prune.stdout.contains("SESSION_DURATION"),
        "{}",
        prune.stdout
    );

    let create = run(session_auth(&["user", "create", "--help"]), QUICK);
    assert!(
        create.stdout.contains("PASSWORD_MIN_LENGTH"),
        "{}",
        create.stdout
    );
    assert!(
        create.stdout.contains("--password-stdin"),
        "{}",
        create.stdout
    );
    assert!(!create.stdout.contains("API_PORT"), "{}", create.stdout);

    let completions = run(session_auth(&["completions", "bash"]), QUICK);
    assert!(completions.status.success(), "{}", completions.describe());
    assert!(
        completions.stdout.contains("session-auth"),
        "{}",
        completions.describe()
    );
}

#[test]
fn config_errors_name_the_variable_and_config_check_reaches_the_storage() {
    let mut bad_port = session_auth(&["serve"]);
    bad_port.env("API_PORT", "eighty");
    let refused = run(bad_port, QUICK);
    assert!(!refused.status.success());
    assert!(
        refused.stderr.contains("environment variable API_PORT"),
        "{}",
        refused.describe()
    );

    let dir = data_dir();
    let ok = on(dir.path(), &["config", "check"]);
    assert!(ok.status.success(), "{}", ok.describe());
    assert!(ok.stdout.contains("configuration ok"), "{}", ok.stdout);

    let mut postgres = session_auth(&["config", "check"]);
    postgres.env("STORAGE", "postgres");
    let missing = run(postgres, QUICK);
    assert!(!missing.status.success());
    assert!(
        missing.stderr.contains("DATABASE_URL"),
        "{}",
        missing.describe()
    );

    let import = on(dir.path(), &["import", "--from", "/does/not/exist"]);
    assert!(!import.status.success(), "{}", import.describe());
    assert!(
        import.stderr.contains("/does/not/exist"),
        "{}",
        import.describe()
    );
}

/// `PASSWORD_POLICY=strong` (alone or through `SECURITY_PROFILE=strict`)
/// holds on `user create`, `user set-password` and the bootstrap user,
/// saying why without the password; a new account's email must look like
/// an address.
#[test]
fn the_cli_and_the_bootstrap_apply_the_password_policy_and_the_email_syntax() {
    let dir = data_dir();
    let dir = dir.path();
    let create = |email: &'static str| ["user", "create", "--email", email, "--password-stdin"];

    let weak = with_stdin(
        dir,
        &create("ann@example.com"),
        &[("PASSWORD_POLICY", "strong")],
        "qwerty123\n",
    );
    assert!(!weak.status.success(), "{}", weak.describe());
    assert!(
        weak.stderr.contains("password is too weak"),
        "{}",
        weak.describe()
    );
    assert!(!weak.stderr.contains("qwerty123"), "{}", weak.describe());

    let strict = with_stdin(
        dir,
        &create("ann@example.com"),
        &[("SECURITY_PROFILE", "strict")],
        "passwordpassword\n",
    );
    assert!(!strict.status.success(), "{}", strict.describe());
    assert!(strict.stderr.contains("too weak"), "{}", strict.describe());

    let not_an_email = with_stdin(dir, &create("not-an-email"), &[], "a fine secret\n");
    assert!(!not_an_email.status.success());
    assert!(
        not_an_email.stderr.contains("email must contain an @"),
        "{}",
        not_an_email.describe()
    );

    let created = with_stdin(
        dir,
        &create("ann@example.com"),
        &[("SECURITY_PROFILE", "strict")],
        "violet tram under 9 maples\n",
    );
    assert!(created.status.success(), "{}", created.describe());
    let recased = with_stdin(dir, &create("ANN@example.com"), &[], "another secret\n");
    assert!(!recased.status.success());
    assert!(
        recased.stderr.contains("already exists"),
        "{}",
        recased.describe()
    );

    let reset = with_stdin(
        dir,
        &[
            "user",
            "set-password",
            "ANN@EXAMPLE.COM",
            "--password-stdin",
        ],
        &[("PASSWORD_POLICY", "strong")],
        "letmein1\n",
    );
    assert!(!reset.status.success(), "{}", reset.describe());
    assert!(
        reset.stderr.contains("password is too weak"),
        "{}",
        reset.describe()
    );
    assert!(!reset.stderr.contains("letmein1"), "{}", reset.describe());

    let secret = dir.join("bootstrap-password");
    std::fs::write(&secret, "password123\n").expect("password file written");
    let secret = secret.display().to_string();
    let bootstrap = with_stdin(
        dir,
        &["serve"],
        &[
            ("STORAGE", "memory"),
            ("API_HOST", "127.0.0.1"),
            ("API_PORT", "0"),
            ("PASSWORD_POLICY", "strong"),
            ("BOOTSTRAP_EMAIL", "boot@example.com"),
            ("BOOTSTRAP_PASSWORD_FILE", &secret),
        ],
        "",
    );
    assert!(!bootstrap.status.success(), "{}", bootstrap.describe());
    assert!(
        bootstrap.stderr.contains("password is too weak"),
        "{}",
        bootstrap.describe()
    );
    assert!(
        !bootstrap.stderr.contains("password123"),
        "{}",
        bootstrap.describe()
    );
}

/// `user create --admin`, `grant-admin` and `revoke-admin` manage the
/// administrator right (refusing to take it from the last administrator,
/// with a non-zero exit), `list` and `show` say who has it, and a server
/// under `ACCESS_POLICY=owner` shows it; the bootstrap user is one.
#[test]
fn administrators_are_managed_from_the_cli() {
    let dir = data_dir();
    let dir = dir.path();
    let create = |email: &str, admin: bool| {
        let mut args = vec!["user", "create", "--email", email, "--password-stdin"];
        if admin {
            args.push("--admin");
        }
        let created = with_stdin(dir, &args, &[], "a secret\n");
        assert!(created.status.success(), "{}", created.describe());
        created.stdout.trim().to_owned()
    };
    let ann = create("ann@example.com", true);
    let bob = create("bob@example.com", false);

    let list = on(dir, &["user", "list"]);
    assert!(list.status.success(), "{}", list.describe());
    assert!(
        list.stdout
            .starts_with("id\temail\tfirst_name\tlast_name\tcreated_at\tadmin\n"),
        "{}",
        list.stdout
    );
    let line = |id: &str| {
        list.stdout
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} not listed: {}", list.stdout))
            .to_owned()
    };
    assert!(line(&ann).ends_with("\tyes"), "{}", list.stdout);
    assert!(line(&bob).ends_with("\tno"), "{}", list.stdout);

    let last = on(dir, &["user", "revoke-admin", "ann@example.com"]);
    assert!(!last.status.success(), "{}", last.describe());
    assert!(
        last.stderr.contains("last administrator"),
        "{}",
        last.describe()
    );

    let granted = on(dir, &["user", "grant-admin", &bob]);
    assert!(granted.status.success(), "{}", granted.describe());
    assert!(
        granted.stdout.contains("is now an administrator"),
        "{}",
        granted.describe()
    );
    let again = on(dir, &["user", "grant-admin", "bob@example.com"]);
    assert!(again.status.success(), "{}", again.describe());
    assert!(
        again.stdout.contains("nothing changed"),
        "{}",
        again.describe()
    );
    let revoked = on(dir, &["user", "revoke-admin", "ann@example.com"]);
    assert!(revoked.status.success(), "{}", revoked.describe());
    let unknown = on(dir, &["user", "grant-admin", "nobody@example.com"]);
    assert!(!unknown.status.success());
    assert!(unknown.stderr.contains("no user"), "{}", unknown.describe());

    let show = on(dir, &["user", "show", "bob@example.com"]);
    assert!(show.stdout.contains("admin       yes"), "{}", show.stdout);
    let show = on(dir, &["user", "show", "ann@example.com"]);
    assert!(show.stdout.contains("admin       no"), "{}", show.stdout);

    // bob@example.com:a secret; the bootstrap user is made an
    // administrator too.
    let password = dir.join("bootstrap-password");
    std::fs::write(&password, "boot secret\n").expect("password file");
    let server = Server::start(
        dir,
        &[
            ("AUTH_TYPE", "basic_auth"),
            ("ACCESS_POLICY", "owner"),
            ("BOOTSTRAP_EMAIL", "boot@example.com"),
            (
                "BOOTSTRAP_PASSWORD_FILE",
                password.to_str().expect("a UTF-8 path"),
            ),
        ],
    );
    let me = server.get(
        "/api/v1/users/me",
        &[("Authorization", "Basic Ym9iQGV4YW1wbGUuY29tOmEgc2VjcmV0")],
    );
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.json()["is_admin"], serde_json::json!(true), "{me:?}");
    // boot@example.com:boot secret
    let boot = server.get(
        "/api/v1/users/me",
        &[(
            "Authorization",
            "Basic Ym9vdEBleGFtcGxlLmNvbTpib290IHNlY3JldA==",
        )],
    );
    assert_eq!(boot.json()["is_admin"], serde_json::json!(true), "{boot:?}");
    server.stop();
}

/// Every change made at the command line leaves the same audit line a
/// change through the API does, with the operator as its actor, in
/// `LOG_FORMAT=json`, and without a secret.
#[test]
fn cli_changes_are_audited_as_the_operators_in_json() {
    let dir = data_dir();
    let dir = dir.path();
    let json = [("LOG_FORMAT", "json")];
    let secret = "Audit-Me-Secret-42";
    let events = |finished: &Finished| -> Vec<serde_json::Value> {
        finished
            .stderr
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|line| line["event"].is_string())
            .collect()
    };
    let created = with_stdin(
        dir,
        &[
            "user",
            "create",
            "--email",
            "bob@example.com",
            "--password-stdin",
        ],
        &json,
        &format!("{secret}\n"),
    );
    assert!(created.status.success(), "{}", created.describe());
    let id = created.stdout.trim().to_owned();
    let reset = with_stdin(
        dir,
        &[
            "user",
            "set-password",
            "bob@example.com",
            "--password-stdin",
        ],
        &json,
        &format!("{secret}-2\n"),
    );
    assert!(reset.status.success(), "{}", reset.describe());
    let granted = with_stdin(dir, &["user", "grant-admin", "bob@example.com"], &json, "");
    let revoked = with_stdin(
        dir,
        &["sessions", "revoke", "--user", "bob@example.com"],
        &json,
        "",
    );
    let deleted = with_stdin(
        dir,
        &["user", "delete", "bob@example.com", "--yes"],
        &json,
        "",
    );
    for (finished, event) in [
        (&created, "user_created"),
        (&reset, "password_changed"),
        (&granted, "user_promoted"),
        (&revoked, "sessions_revoked"),
        (&deleted, "user_deleted"),
    ] {
        assert!(finished.status.success(), "{}", finished.describe());
        let lines = events(finished);
        let line = lines
            .iter()
            .find(|line| line["event"] == event)
            .unwrap_or_else(|| panic!("no {event} line: {}", finished.describe()));
        assert_eq!(line["actor"], "operator", "{line}");
        assert_eq!(
            line["user_id"],
            serde_json::Value::from(id.clone()),
            "{line}"
        );
        assert!(!finished.stderr.contains(secret), "{}", finished.describe());
        assert!(
            !finished.stderr.contains("$argon2id$"),
            "{}",
            finished.describe()
        );
    }
}
