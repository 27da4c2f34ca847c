//! `session-auth import`: takes over a Flask deployment's data files into
//! any configured storage, keeping ids, timestamps and password hashes.
//!
//! Idempotent: a record already present (same user id, same session key)
//! is skipped, so an interrupted import can simply be run again. Nothing
//! already stored is changed or removed. Records go to the storage in
//! batches (see the ports' `insert_new_batch`), so a SQL storage loads them
//! with a few statements per thousand records instead of several per
//! record.

use std::fmt;
use std::path::Path;

use domain::{RepositoryError, Session, SessionBatchOutcome, User, UserBatchOutcome};

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

/// Records handed to the storage at once: each batch is a few statements
/// in one transaction, committed before the next, so an interrupted import
/// keeps whole batches and is completed by running it again. Also how often
/// progress is reported.
const BATCH: usize = 1_000;

/// The record, or `None` after noting why it is skipped (its id included).
fn usable<T>(record: Result<T, adapter_file::OpenError>, skipped: &mut Vec<String>) -> Option<T> {
    record.map_err(|bad| skipped.push(bad.to_string())).ok()
}

/// Imports the Flask files of `dir` into `storage`; `progress` receives a
/// line after each batch on large files.
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
    let users: Vec<User> = records
        .users
        .into_iter()
        .filter_map(|record| usable(record, &mut report.skipped))
        .collect();
    let mut done = total - users.len();
    for batch in users.chunks(BATCH) {
        let outcomes = storage
            .users
            .insert_new_batch(batch)
            .await
            .map_err(ImportError::Storage)?;
        for (user, outcome) in batch.iter().zip(outcomes) {
            match outcome {
                UserBatchOutcome::Inserted => report.users_imported += 1,
                UserBatchOutcome::AlreadyPresent => report.users_present += 1,
                UserBatchOutcome::DuplicateEmail => report.skipped.push(format!(
                    "user {}: another user already has the email {}",
                    user.id, user.email
                )),
            }
        }
        done += batch.len();
        if total > BATCH {
            progress(&format!("users: {done}/{total}"));
        }
    }

    let total = records.sessions.len();
    let sessions: Vec<Session> = records
        .sessions
        .into_iter()
        .filter_map(|record| usable(record, &mut report.skipped))
        .collect();
    let mut done = total - sessions.len();
    for batch in sessions.chunks(BATCH) {
        let outcomes = storage
            .sessions
            .insert_new_batch(batch, storage.users.as_ref())
            .await
            .map_err(ImportError::Storage)?;
        for (session, outcome) in batch.iter().zip(outcomes) {
            match outcome {
                SessionBatchOutcome::Inserted => report.sessions_imported += 1,
                SessionBatchOutcome::AlreadyPresent => report.sessions_present += 1,
                SessionBatchOutcome::UserMissing => report.skipped.push(format!(
                    "session {}: its user {} does not exist",
                    session.id, session.user_id
                )),
            }
        }
        done += batch.len();
        if total > BATCH {
            progress(&format!("sessions: {done}/{total}"));
        }
    }
    Ok(report)
}
