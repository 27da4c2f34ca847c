//! The commands that look after the storage itself rather than its users:
//! `migrate`, `import` and `completions` (`config check` is in
//! `config_check.rs`).

use adapter_seaorm::SchemaState;

use adapter_file::{SESSION_FILE, USER_FILE};

use crate::commands::{CommandError, open_for_command};
use crate::config::{ImportArgs, MigrateArgs};
use crate::import::{ImportReport, import};
use crate::storage::connect_sql;

/// `session-auth migrate`: applies pending migrations (or rolls back, or
/// reports); returns what to print.
///
/// # Errors
/// [`CommandError`] saying what went wrong.
pub async fn migrate(args: MigrateArgs) -> Result<String, CommandError> {
    if !args.storage.storage.is_sql() {
        return Err(CommandError::NotSql);
    }
    let store = connect_sql(&args.storage, 0).await?;
    if let Some(steps) = args.down {
        store.migrate_down(steps).await?;
        return Ok(format!("rolled back {steps} migration(s)"));
    }
    if args.status {
        return Ok(match store.schema_state().await? {
            SchemaState::Current => "schema is up to date".to_owned(),
            SchemaState::Pending(pending) => format!("pending migrations: {}", pending.join(", ")),
        });
    }
    let applied = store.migrate_up().await?;
    Ok(if applied.is_empty() {
        "schema is up to date; nothing to apply".to_owned()
    } else {
        format!("applied: {}", applied.join(", "))
    })
}

/// `session-auth import --from DIR`.
///
/// # Errors
/// [`CommandError::ImportSource`] when the folder holds no Flask file or
/// no record (nothing to import is a mistake worth saying: a wrong
/// folder); [`CommandError::InUse`] when a server holds the file storage's
/// folder; when the storage cannot be opened or the import stops.
pub async fn import_flask(args: ImportArgs) -> Result<ImportReport, CommandError> {
    if !args.from.is_dir() {
        return Err(CommandError::ImportSource(format!(
            "--from {} is not a folder (it should hold .db_User.json)",
            args.from.display()
        )));
    }
    if !args.from.join(USER_FILE).exists() && !args.from.join(SESSION_FILE).exists() {
        return Err(CommandError::ImportSource(format!(
            "{} holds neither {USER_FILE} nor {SESSION_FILE}: nothing to import (--from names the Flask API's data folder)",
            args.from.display()
        )));
    }
    let storage = open_for_command(&args.storage).await?;
    let report = import(&args.from, &storage, |line| eprintln!("importing… {line}")).await;
    storage.close().await;
    let report = report?;
    let found = report.users_imported
        + report.users_present
        + report.sessions_imported
        + report.sessions_present
        + report.skipped.len() as u64;
    if found == 0 {
        return Err(CommandError::ImportSource(format!(
            "the files in {} hold no user and no session: nothing was imported",
            args.from.display()
        )));
    }
    Ok(report)
}

/// The completion script for `shell`, to print: the commands and the
/// options each command's `--help` shows (the settings a command does not
/// read are accepted but hidden, and not offered either).
///
/// clap_complete's bash script names its functions after the binary with
/// `-` made `__` (`_session__auth`), but for the subcommands' branches it
/// makes the `-` of the binary's name `__subcmd__` too
/// (`session__subcmd__auth__subcmd__user`), so no branch matched and bash
/// completed file names after `session-auth user `: the branches are
/// renamed here to the functions' spelling.
///
/// # Errors
/// [`CommandError::Output`] when the script cannot be generated.
pub fn completions(shell: clap_complete::Shell) -> Result<String, CommandError> {
    const BIN: &str = "session-auth";
    let mut command = visible_only(&crate::config::Cli::definition());
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, BIN, &mut script);
    let script = String::from_utf8(script).map_err(|e| CommandError::Output(e.to_string()))?;
    Ok(match shell {
        clap_complete::Shell::Bash => script.replace("session__subcmd__auth", "session__auth"),
        _ => script,
    })
}

/// `command` with only what its help shows: its visible arguments and
/// subcommands, recursively.
fn visible_only(command: &clap::Command) -> clap::Command {
    let mut copy = clap::Command::new(command.get_name().to_owned())
        .disable_help_subcommand(command.is_disable_help_subcommand_set());
    if let Some(about) = command.get_about() {
        copy = copy.about(about.clone());
    }
    if let Some(version) = command.get_version() {
        copy = copy.version(version.to_owned());
    }
    for arg in command.get_arguments().filter(|arg| !arg.is_hide_set()) {
        copy = copy.arg(arg.clone());
    }
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        copy = copy.subcommand(visible_only(sub));
    }
    copy
}
