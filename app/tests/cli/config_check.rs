//! `session-auth config check` as an operator runs it: every bad setting
//! at once, a missing store refused unless `--allow-empty`, nothing
//! created while checking, and a database that cannot be reached named
//! with its cause and without its password.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

use crate::support::{Finished, QUICK, data_dir, free_port, run, session_auth};

/// `config check ARGS` with `env` in `dir`.
fn check(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut full = vec!["config", "check"];
    full.extend_from_slice(args);
    let mut command = session_auth(&full);
    command.current_dir(dir).envs(env.iter().copied());
    run(command, QUICK)
}

fn exit_code(finished: &Finished) -> Option<i32> {
    finished.status.code()
}

#[test]
fn every_bad_setting_is_reported_at_once_with_exit_2() {
    let dir = data_dir();
    let checked = check(
        dir.path(),
        &["--max-headers", "0"],
        &[
            ("AUTH_TYPE", "foo"),
            ("LOG_LEVEL", "verbose"),
            ("STORAGE", "files"),
            ("DATABASE_URL", "postgres://app:s3cret@db/x"),
        ],
    );
    assert_eq!(exit_code(&checked), Some(2), "{}", checked.describe());
    for named in [
        "AUTH_TYPE=\"foo\"",
        "LOG_LEVEL=\"verbose\"",
        "STORAGE=\"files\"",
        "--max-headers=\"0\"",
    ] {
        assert!(
            checked.stderr.contains(named),
            "{named} missing:\n{}",
            checked.describe()
        );
    }
    assert!(
        checked.stderr.contains("4 invalid setting(s)"),
        "{}",
        checked.describe()
    );
    assert!(
        checked.stderr.contains("possible values: memory, file"),
        "{}",
        checked.describe()
    );
    assert!(!checked.stderr.contains("s3cret"), "{}", checked.describe());
}

#[test]
fn a_missing_data_dir_is_an_error_unless_allow_empty_and_is_not_created() {
    let dir = data_dir();
    let missing = dir.path().join("not-there");
    let missing_text = missing.to_str().unwrap();
    let env = [("STORAGE", "file"), ("DATA_DIR", missing_text)];

    let refused = check(dir.path(), &[], &env);
    assert_eq!(exit_code(&refused), Some(1), "{}", refused.describe());
    assert!(
        refused.stderr.contains("does not exist"),
        "{}",
        refused.describe()
    );
    assert!(
        refused.stderr.contains("--allow-empty"),
        "{}",
        refused.describe()
    );

    let allowed = check(dir.path(), &["--allow-empty"], &env);
    assert_eq!(exit_code(&allowed), Some(0), "{}", allowed.describe());
    assert!(
        allowed.stdout.contains("warning: DATA_DIR"),
        "{}",
        allowed.describe()
    );
    assert!(
        allowed.stdout.contains("session-auth user create --email"),
        "{}",
        allowed.describe()
    );
    assert!(!missing.exists(), "config check created DATA_DIR");
}

#[test]
fn sqlite_is_checked_read_only_and_nothing_is_created() {
    let dir = data_dir();
    let env = [("STORAGE", "sqlite")];
    let refused = check(dir.path(), &[], &env);
    assert_eq!(exit_code(&refused), Some(1), "{}", refused.describe());
    assert!(
        refused.stderr.contains("session-auth.db does not exist"),
        "{}",
        refused.describe()
    );
    let allowed = check(dir.path(), &["--allow-empty"], &env);
    assert_eq!(exit_code(&allowed), Some(0), "{}", allowed.describe());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "config check created {left:?}");

    let mut migrate = session_auth(&["migrate"]);
    migrate.current_dir(dir.path()).envs(env);
    let migrated = run(migrate, QUICK);
    assert!(migrated.status.success(), "{}", migrated.describe());
    let database = dir.path().join("session-auth.db");
    let before = std::fs::read(&database).unwrap();
    let checked = check(dir.path(), &[], &env);
    assert_eq!(exit_code(&checked), Some(0), "{}", checked.describe());
    assert!(
        checked.stdout.contains("schema up to date"),
        "{}",
        checked.describe()
    );
    assert_eq!(
        std::fs::read(&database).unwrap(),
        before,
        "config check changed the database"
    );
}

#[test]
fn a_refused_connection_is_named_at_once_without_the_password() {
    let dir = data_dir();
    let url = format!("postgres://app:s3cret@127.0.0.1:{}/auth", free_port());
    let checked = check(
        dir.path(),
        &[],
        &[("STORAGE", "postgres"), ("DATABASE_URL", &url)],
    );
    assert_eq!(exit_code(&checked), Some(1), "{}", checked.describe());
    assert!(
        checked.stderr.contains("connection refused"),
        "{}",
        checked.describe()
    );
    assert!(!checked.stderr.contains("s3cret"), "{}", checked.describe());

    // The server says the same at start.
    let mut serve = session_auth(&["serve"]);
    serve
        .current_dir(dir.path())
        .env("API_HOST", "127.0.0.1")
        .env("API_PORT", free_port().to_string())
        .env("STORAGE", "postgres")
        .env("DATABASE_URL", &url);
    let refused = run(serve, QUICK);
    assert!(!refused.status.success(), "{}", refused.describe());
    assert!(
        refused.stderr.contains("connection refused"),
        "{}",
        refused.describe()
    );
    assert!(!refused.stderr.contains("s3cret"), "{}", refused.describe());
}

/// A server that answers PostgreSQL's TLS request with "no", as one
/// without TLS does, or never answers at all.
fn fake_postgres(answer_tls: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            if answer_tls {
                let mut request = [0u8; 8];
                if stream.read_exact(&mut request).is_ok() {
                    let _ = stream.write_all(b"N");
                }
            }
            held.push(stream);
        }
    });
    port
}

#[test]
fn tls_required_by_the_url_and_a_silent_server_are_named() {
    let dir = data_dir();
    let no_tls = format!(
        "postgres://app:s3cret@127.0.0.1:{}/auth?sslmode=require",
        fake_postgres(true)
    );
    let checked = check(
        dir.path(),
        &[],
        &[("STORAGE", "postgres"), ("DATABASE_URL", &no_tls)],
    );
    assert_eq!(exit_code(&checked), Some(1), "{}", checked.describe());
    assert!(
        checked.stderr.contains("TLS required"),
        "{}",
        checked.describe()
    );

    let silent = format!(
        "postgres://app:s3cret@127.0.0.1:{}/auth",
        fake_postgres(false)
    );
    let checked = check(
        dir.path(),
        &[],
        &[("STORAGE", "postgres"), ("DATABASE_URL", &silent)],
    );
    assert_eq!(exit_code(&checked), Some(1), "{}", checked.describe());
    assert!(
        checked.stderr.contains("timed out"),
        "{}",
        checked.describe()
    );
    assert!(!checked.stderr.contains("s3cret"), "{}", checked.describe());
}

/// `url` (of `TEST_DATABASE_URL`) with another user and password, or
/// another database.
#[cfg(postgres_tests)]
fn altered(url: &str, credentials: Option<&str>, database: Option<&str>) -> String {
    let (scheme, rest) = url.split_once("://").expect("TEST_DATABASE_URL is a URL");
    let (authority, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let (name, query) = tail.split_once('?').map_or((tail, ""), |(n, q)| (n, q));
    let user = credentials.map_or_else(
        || {
            authority
                .rsplit_once('@')
                .map_or(String::new(), |(u, _)| format!("{u}@"))
        },
        |c| format!("{c}@"),
    );
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!(
        "{scheme}://{user}{host}/{}{query}",
        database.unwrap_or(name)
    )
}

#[cfg(postgres_tests)]
#[test]
fn a_missing_database_and_a_refused_user_are_named() {
    let base = integration_tests::sql_database::test_database_url();
    let dir = data_dir();
    let missing = altered(&base, None, Some("session_auth_no_such_database"));
    let checked = check(
        dir.path(),
        &[],
        &[("STORAGE", "postgres"), ("DATABASE_URL", &missing)],
    );
    assert_eq!(exit_code(&checked), Some(1), "{}", checked.describe());
    assert!(
        checked.stderr.contains("database does not exist"),
        "{}",
        checked.describe()
    );

    let stranger = altered(&base, Some("session_auth_no_such_role:s3cret"), None);
    let checked = check(
        dir.path(),
        &[],
        &[("STORAGE", "postgres"), ("DATABASE_URL", &stranger)],
    );
    assert_eq!(exit_code(&checked), Some(1), "{}", checked.describe());
    assert!(
        checked.stderr.contains("authentication failed"),
        "{}",
        checked.describe()
    );
    assert!(!checked.stderr.contains("s3cret"), "{}", checked.describe());
}
