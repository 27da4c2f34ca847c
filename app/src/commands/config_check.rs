//! `session-auth config check`: what `serve` would start with, checked
//! without starting it.

use adapter_seaorm::SchemaState;

use crate::bootstrap::read_secret_file;
use crate::commands::CommandError;
use crate::config::{ServeArgs, StorageKind};
use crate::storage::connect_sql;

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
