//! The commands that look after the storage itself rather than its users:
//! `migrate`, `import` and `completions` (`config check` is in
//! `config_check.rs`).

use std::io::Write;

use adapter_seaorm::SchemaState;

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
/// [`CommandError`] when the storage cannot be opened or the import stops.
pub async fn import_flask(args: ImportArgs) -> Result<ImportReport, CommandError> {
    if !args.from.is_dir() {
        return Err(CommandError::ImportSource(format!(
            "--from {} is not a folder (it should hold .db_User.json)",
            args.from.display()
        )));
    }
    let storage = open_for_command(&args.storage).await?;
    let report = import(&args.from, &storage, |line| eprintln!("importing… {line}")).await;
    storage.close().await;
    Ok(report?)
}

/// Writes a completion script for `shell` to standard output.
pub fn completions(shell: clap_complete::Shell) -> Result<String, CommandError> {
    let mut command = crate::config::Cli::definition();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut command, "session-auth", &mut out);
    out.flush()
        .map_err(|e| CommandError::Output(e.to_string()))?;
    Ok(String::new())
}
