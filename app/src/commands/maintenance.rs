//! The commands that look after the storage itself rather than its users:
//! `migrate`, `import`, `config check`, and `completions`.

use std::io::Write;

use adapter_seaorm::SchemaState;

use crate::bootstrap::read_secret_file;
use crate::commands::{CommandError, open_for_command};
use crate::config::{ImportArgs, MigrateArgs, ServeArgs, StorageKind};
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

/// `session-auth config check`: every setting was already validated by
/// the parser; this reaches the storage (read-only: no lock taken, no
/// migration applied) and reads the bootstrap password file.
///
/// # Errors
/// [`CommandError::Config`] naming the problem.
pub async fn check_config(args: ServeArgs) -> Result<String, CommandError> {
    let mut report = vec![format!(
        "settings: ok (AUTH_TYPE={}, STORAGE={}, ACCESS_POLICY={}, REGISTRATION={})",
        args.auth_type,
        format!("{:?}", args.storage.storage).to_lowercase(),
        args.settings().access.policy,
        args.registration
    )];
    match args.storage.storage {
        StorageKind::Memory => report.push("storage: memory (nothing to reach)".into()),
        StorageKind::File => {
            let records = adapter_file::read_flask_records(&args.storage.data_dir)
                .map_err(|e| CommandError::Config(format!("DATA_DIR: {e}")))?;
            drop(records);
            report.push(format!(
                "storage: the files in {} read correctly",
                args.storage.data_dir.display()
            ));
        }
        StorageKind::Postgres | StorageKind::Sqlite => {
            let store = connect_sql(&args.storage, 0)
                .await
                .map_err(|e| CommandError::Config(format!("DATABASE_URL: {e}")))?;
            let state = store
                .schema_state()
                .await
                .map_err(|e| CommandError::Config(format!("database schema: {e}")))?;
            report.push(match state {
                SchemaState::Current => "storage: database reached; schema up to date".into(),
                SchemaState::Pending(pending) if args.storage.auto_migrate => format!(
                    "storage: database reached; serve will apply {}",
                    pending.join(", ")
                ),
                SchemaState::Pending(pending) => {
                    return Err(CommandError::Config(format!(
                        "database schema is behind ({}) and AUTO_MIGRATE=false: run `session-auth migrate`",
                        pending.join(", ")
                    )));
                }
            });
        }
    }
    if let Some(file) = &args.bootstrap_password_file {
        read_secret_file(file).map_err(|e| CommandError::Config(e.to_string()))?;
        report.push("bootstrap: password file readable".into());
    }
    report.push("configuration ok".into());
    Ok(report.join("\n"))
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
