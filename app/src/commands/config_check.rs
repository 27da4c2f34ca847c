//! `session-auth config check`: what `serve` would start with, checked
//! without starting it and without changing anything. Every problem is
//! reported at once, not only the first:
//! - every setting's value, each checked by its own parser even when
//!   another one is bad ([`every_bad_setting`], exit 2);
//! - the storage, reached read-only: a missing `DATA_DIR` or SQLite file
//!   is an error (a warning with `--allow-empty`), SQLite is opened with
//!   `mode=ro` (no file is created), no lock is taken and no migration
//!   applied; a database that cannot be reached says why;
//! - the bootstrap password file.
//!
//! Exit status: 0 when `serve` would start (warnings may be printed),
//! 1 when a check failed, 2 when a setting has an invalid value.

use std::ffi::OsString;
use std::path::Path;

use adapter_seaorm::SchemaState;
use clap::CommandFactory as _;
use domain::{AuthType, UserRepository as _};

use crate::bootstrap::read_secret_file;
use crate::commands::CommandError;
use crate::config::{ConfigCheckArgs, ServeArgs, StorageKind};
use crate::start_line::spelt;
use crate::storage::{DEFAULT_SQLITE_URL, connect_sql};

/// What the check found, line by line.
#[derive(Default)]
struct Findings {
    lines: Vec<String>,
    errors: usize,
}

impl Findings {
    fn ok(&mut self, line: impl Into<String>) {
        self.lines.push(format!("ok: {}", line.into()));
    }
    fn warn(&mut self, line: impl Into<String>) {
        self.lines.push(format!("warning: {}", line.into()));
    }
    fn error(&mut self, line: impl Into<String>) {
        self.errors += 1;
        self.lines.push(format!("error: {}", line.into()));
    }
}

/// `session-auth config check` once every setting parsed.
///
/// # Errors
/// [`CommandError::Config`] with every finding when any check failed.
pub async fn check_config(args: ConfigCheckArgs) -> Result<String, CommandError> {
    let ConfigCheckArgs {
        allow_empty,
        serve: args,
    } = args;
    let mut findings = Findings::default();
    findings.ok(format!(
        "settings (AUTH_TYPE={}, STORAGE={}, ACCESS_POLICY={}, REGISTRATION={}, SECURITY_PROFILE={})",
        args.auth_type,
        spelt(&args.storage.storage),
        args.settings().access.policy,
        args.registration,
        spelt(&args.security_profile),
    ));
    let users = match args.storage.storage {
        StorageKind::Memory => {
            findings.ok("storage: memory (nothing is kept after the process ends)");
            Some(0)
        }
        StorageKind::File => check_files(&args, allow_empty, &mut findings),
        StorageKind::Postgres | StorageKind::Sqlite => {
            check_database(&args, allow_empty, &mut findings).await
        }
    };
    if let Some(file) = &args.bootstrap_password_file {
        match read_secret_file(file) {
            Ok(_) => findings.ok("BOOTSTRAP_PASSWORD_FILE readable"),
            Err(error) => findings.error(error.to_string()),
        }
    }
    if users == Some(0) && args.bootstrap_email.is_none() && args.auth_type != AuthType::None {
        findings.warn(match args.storage.storage {
            StorageKind::Memory => "STORAGE=memory without BOOTSTRAP_EMAIL: no one will be able to sign in (set BOOTSTRAP_EMAIL and BOOTSTRAP_PASSWORD_FILE)",
            _ => "no user yet: create one with `session-auth user create --email you@example.com`, or set BOOTSTRAP_EMAIL and BOOTSTRAP_PASSWORD_FILE",
        });
    }
    let report = findings.lines.join("\n");
    if findings.errors > 0 {
        return Err(CommandError::Config(format!(
            "configuration has {} problem(s):\n{report}",
            findings.errors
        )));
    }
    Ok(format!("{report}\nconfiguration ok"))
}

/// The file storage: the folder exists and its files parse. How many users
/// the files hold, when that says whether anyone can sign in (not while a
/// journal holds changes the files do not show yet).
fn check_files(args: &ServeArgs, allow_empty: bool, findings: &mut Findings) -> Option<u64> {
    let dir = &args.storage.data_dir;
    if !dir.exists() {
        let said = format!(
            "DATA_DIR {} does not exist: serve would create it and start with no user",
            dir.display()
        );
        if allow_empty {
            findings.warn(said);
            return Some(0);
        }
        findings.error(format!(
            "{said} (a wrong path? pass --allow-empty if a new, empty store is meant)"
        ));
        return None;
    }
    if !dir.is_dir() {
        findings.error(format!("DATA_DIR {} is not a folder", dir.display()));
        return None;
    }
    let records = match adapter_file::read_flask_records(dir) {
        Ok(records) => records,
        Err(error) => {
            findings.error(format!("DATA_DIR: {error}"));
            return None;
        }
    };
    let user_errors = records.users.iter().filter_map(|r| r.as_ref().err());
    let session_errors = records.sessions.iter().filter_map(|r| r.as_ref().err());
    let bad: Vec<String> = user_errors
        .map(ToString::to_string)
        .chain(session_errors.map(ToString::to_string))
        .collect();
    if let Some(first) = bad.first() {
        findings.error(format!(
            "DATA_DIR {}: {} record(s) cannot be read; the first: {first}",
            dir.display(),
            bad.len()
        ));
    }
    let users = records.users.iter().filter(|r| r.is_ok()).count() as u64;
    findings.ok(format!(
        "storage: the files in {} read correctly ({users} user(s), {} session(s))",
        dir.display(),
        records.sessions.iter().filter(|r| r.is_ok()).count()
    ));
    (!has_journal(dir)).then_some(users)
}

/// Whether the folder holds a journal (changes the files do not show yet).
fn has_journal(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with(".session-auth.journal.")
        })
    })
}

/// The SQL storage, reached read-only: its cause when it cannot be, the
/// schema's state, how many users.
async fn check_database(
    args: &ServeArgs,
    allow_empty: bool,
    findings: &mut Findings,
) -> Option<u64> {
    let mut storage = args.storage.clone();
    if storage.storage == StorageKind::Sqlite {
        let url = storage
            .database_url
            .clone()
            .unwrap_or_else(|| DEFAULT_SQLITE_URL.to_owned());
        if url.starts_with("sqlite:")
            && let Some(path) = sqlite_file(&url)
            && !path.exists()
        {
            let said = format!(
                "the SQLite database {} does not exist: serve would create it and start with no user",
                path.display()
            );
            if allow_empty && url.contains("mode=rwc") {
                findings.warn(said);
                return Some(0);
            }
            findings.error(format!(
                "{said} (a wrong path? pass --allow-empty if a new, empty database is meant)"
            ));
            return None;
        }
        storage.database_url = Some(read_only(&url));
    }
    let store = match connect_sql(&storage, 0).await {
        Ok(store) => store,
        Err(error) => {
            findings.error(format!("DATABASE_URL: {error}"));
            return None;
        }
    };
    let current = match store.schema_state().await {
        Ok(SchemaState::Current) => {
            findings.ok("storage: database reached; schema up to date");
            true
        }
        Ok(SchemaState::Pending(pending)) if args.storage.auto_migrate => {
            findings.ok(format!(
                "storage: database reached; serve will apply {}",
                pending.join(", ")
            ));
            false
        }
        Ok(SchemaState::Pending(pending)) => {
            findings.error(format!(
                "database schema is behind ({}) and AUTO_MIGRATE=false: run `session-auth migrate`",
                pending.join(", ")
            ));
            false
        }
        Err(error) => {
            findings.error(format!("database schema: {error}"));
            false
        }
    };
    if !current {
        return None;
    }
    store.count().await.ok()
}

/// The file a `sqlite:` URL names (`None` for an in-memory database).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.into())
}

/// The URL with `mode=ro`, so that checking creates and changes nothing.
fn read_only(url: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut parameters: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("mode="))
        .collect();
    parameters.push("mode=ro");
    format!("{base}?{}", parameters.join("&"))
}

/// When `config check` was refused by the parser: every setting whose
/// value is invalid, each checked by its own parser (the parser stops at
/// the first). `None` when these are not `config check`'s arguments, or
/// when no single value is invalid (then the parser's own message says
/// what is wrong).
pub fn every_bad_setting(argv: &[OsString]) -> Option<Vec<String>> {
    let words: Vec<String> = argv
        .iter()
        .skip(1)
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    if words.first().map(String::as_str) != Some("config")
        || words.get(1).map(String::as_str) != Some("check")
    {
        return None;
    }
    let flags = &words[2..];
    let command = ConfigCheckArgs::command();
    let mut bad = Vec::new();
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        let flag = format!("--{long}");
        let from_flag = flags.iter().enumerate().find_map(|(i, word)| {
            if word == &flag {
                flags.get(i + 1).cloned()
            } else {
                word.strip_prefix(&format!("{flag}=")).map(str::to_owned)
            }
        });
        let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
        let (name, value) = match (from_flag, &env) {
            (Some(value), _) => (flag, value),
            (None, Some(variable)) => match std::env::var(variable) {
                Ok(value) => (variable.clone(), value),
                Err(_) => continue,
            },
            (None, None) => continue,
        };
        // This setting alone, through its own parser.
        let alone = clap::Command::new("check").no_binary_name(true).arg(
            clap::Arg::new(arg.get_id().clone())
                .value_parser(arg.get_value_parser().clone())
                .action(clap::ArgAction::Set)
                .allow_hyphen_values(true),
        );
        if let Err(error) = alone.try_get_matches_from([value.as_str()]) {
            let shown = if arg.is_hide_env_values_set() {
                "(hidden)".to_owned()
            } else {
                format!("{value:?}")
            };
            bad.push(format!("{name}={shown}: {}", reason(&error)));
        }
    }
    (!bad.is_empty()).then_some(bad)
}

/// clap's reason for refusing a value, without the usage lines and the
/// argument's name (the caller names the setting).
fn reason(error: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let rendered = error.render().to_string();
    let first = rendered
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ");
    let mut said = first
        .find("' for '")
        .and_then(|at| first[at..].find("': ").map(|end| at + end + 3))
        .map_or_else(
            || "invalid value".to_owned(),
            |start| first[start..].to_owned(),
        );
    if let Some(ContextValue::Strings(values)) = error.get(ContextKind::ValidValue) {
        said.push_str(&format!(" (possible values: {})", values.join(", ")));
    }
    said
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_url_is_made_read_only() {
        assert_eq!(
            read_only("sqlite://session-auth.db?mode=rwc"),
            "sqlite://session-auth.db?mode=ro"
        );
        assert_eq!(read_only("sqlite:x.db"), "sqlite:x.db?mode=ro");
        assert_eq!(
            sqlite_file("sqlite://a/b.db?mode=rwc"),
            Some("a/b.db".into())
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }
}
