//! `session-auth import`: takes over a Flask deployment's data files into
//! any configured storage, keeping ids, timestamps and password hashes.
//!
//! Idempotent: a record already present (same user id, same session key)
//! is skipped, so an interrupted import can simply be run again. Nothing
//! already stored is changed or removed.

use std::fmt;
use std::path::Path;

use domain::RepositoryError;

use crate::Storage;

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Users stored.
    pub users_imported: u64,
    /// Users already present (same id).
    pub users_present: u64,
    /// Sessions stored.
    pub sessions_imported: u64,
    /// Sessions already present (same key).
    pub sessions_present: u64,
    /// Records not imported, each with why (record id included).
    pub skipped: Vec<String>,
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "users: {} imported, {} already present; sessions: {} imported, {} already present; {} skipped",
            self.users_imported,
            self.users_present,
            self.sessions_imported,
            self.sessions_present,
            self.skipped.len()
        )?;
        for reason in &self.skipped {
            writeln!(f, "  skipped {reason}")?;
        }
        Ok(())
    }
}

/// Why an import stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file could not be read or is not a Flask data file at all.
    #[error(transparent)]
    Read(#[from] adapter_file::OpenError),
    /// The target storage failed; what was imported so far stays.
    #[error("the target storage failed")]
    Storage(#[source] RepositoryError),
}

/// How often progress is reported.
const PROGRESS_EVERY: usize = 1_000;

/// Reports progress every [`PROGRESS_EVERY`] records.
fn tick(progress: &mut impl FnMut(&str), kind: &str, done: usize, total: usize) {
    if done > 0 && done.is_multiple_of(PROGRESS_EVERY) {
        progress(&format!("{kind}: {done}/{total}"));
    }
}

/// The record, or `None` after noting why it is skipped (its id included).
fn usable<T>(record: Result<T, adapter_file::OpenError>, skipped: &mut Vec<String>) -> Option<T> {
    record.map_err(|bad| skipped.push(bad.to_string())).ok()
}

/// Imports the Flask files of `dir` into `storage`; `progress` receives a
/// line now and then on large files.
///
/// # Errors
/// [`ImportError`] when a file is unreadable or the storage fails.
pub async fn import(
    dir: &Path,
    storage: &Storage,
    mut progress: impl FnMut(&str),
) -> Result<ImportReport, ImportError> {
    let dir = dir.to_path_buf();
    let records = tokio::task::spawn_blocking(move || adapter_file::read_flask_records(&dir))
        .await
        .map_err(|e| ImportError::Storage(RepositoryError::Unexpected(Box::new(e))))??;
    let mut report = ImportReport::default();

    let total = records.users.len();
    for (done, record) in records.users.into_iter().enumerate() {
        tick(&mut progress, "users", done, total);
        let Some(user) = usable(record, &mut report.skipped) else {
            continue;
        };
        if storage
            .users
            .get(&user.id)
            .await
            .map_err(ImportError::Storage)?
            .is_some()
        {
            report.users_present += 1;
            continue;
        }
        match storage.users.insert(&user).await {
            Ok(()) => report.users_imported += 1,
            Err(RepositoryError::DuplicateEmail) => report.skipped.push(format!(
                "user {}: another user already has the email {}",
                user.id, user.email
            )),
            Err(other) => return Err(ImportError::Storage(other)),
        }
    }

    let total = records.sessions.len();
    for (done, record) in records.sessions.into_iter().enumerate() {
        tick(&mut progress, "sessions", done, total);
        let Some(session) = usable(record, &mut report.skipped) else {
            continue;
        };
        if storage
            .sessions
            .find(&session.key)
            .await
            .map_err(ImportError::Storage)?
            .is_some()
        {
            report.sessions_present += 1;
            continue;
        }
        if storage
            .users
            .get(&session.user_id)
            .await
            .map_err(ImportError::Storage)?
            .is_none()
        {
            report.skipped.push(format!(
                "session {}: its user {} does not exist",
                session.id, session.user_id
            ));
            continue;
        }
        storage
            .sessions
            .insert(&session)
            .await
            .map_err(ImportError::Storage)?;
        report.sessions_imported += 1;
    }
    Ok(report)
}
