//! Compaction: the Flask files rewritten from memory and the journal they
//! cover deleted, in the background once the journal passes the
//! [`JournalSettings`], and whenever the store asks.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError, Weak};
use std::time::Duration;

use domain::RepositoryError;

use crate::atomic_file::{self, WriteError};
use crate::journal;
use crate::records::{self, SESSION_FILE, USER_FILE};
use crate::state::Inner;

/// When the journal is compacted into the Flask files. It has no
/// defaults of its own: the caller gives both thresholds (the server from
/// its configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalSettings {
    /// Compact once the journal holds this many bytes.
    pub compact_bytes: u64,
    /// Compact once the journal's oldest entry is this old.
    pub compact_age: Duration,
}

/// Compacts in the background whenever the journal is due, until the
/// store is gone.
pub(crate) async fn compactor(
    inner: Weak<Inner>,
    progress: Arc<journal::Progress>,
    settings: JournalSettings,
) {
    let tick = Duration::from_millis(500).min(settings.compact_age);
    let mut ticks = tokio::time::interval(tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // The store is kept alive only while it compacts, so dropping it
        // releases the directory at once otherwise.
        if !progress.due(settings.compact_bytes, settings.compact_age) {
            continue;
        }
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let started = std::time::Instant::now();
        let worker = Arc::clone(&inner);
        match tokio::task::spawn_blocking(move || worker.compact()).await {
            Ok(Ok(())) => tracing::info!(
                dir = %inner.dir.display(),
                millis = started.elapsed().as_millis() as u64,
                "journal compacted into the Flask files"
            ),
            Ok(Err(error)) => tracing::warn!(
                error = %error,
                "journal compaction failed; the journal is kept and compaction will be retried"
            ),
            Err(error) => tracing::warn!(error = %error, "journal compaction was interrupted"),
        }
    }
}

impl Inner {
    /// Writes the Flask files from memory and deletes the journal
    /// generations they cover.
    pub(crate) fn compact(&self) -> Result<(), RepositoryError> {
        let _one = self
            .compaction
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.lock_journal()
            .progress
            .soon
            .store(false, Ordering::Relaxed);
        let (files, dirty, covered) = {
            let mut journal = self.lock_journal();
            // The snapshot must hold only durable changes: flush, then check
            // under the read lock (which no change can pass) that nothing
            // was applied since.
            let state = loop {
                self.flush(&mut journal)
                    .map_err(|e| RepositoryError::Unexpected(Box::new(e)))?;
                let state = self.read_state();
                if state.pending.is_empty() {
                    break state;
                }
            };
            let dirty = (
                state.users_dirty.swap(false, Ordering::Relaxed),
                state.sessions_dirty.swap(false, Ordering::Relaxed),
            );
            let mut files = Vec::with_capacity(2);
            if dirty.0 {
                files.push((USER_FILE, records::users_json(&state.tables)));
            }
            if dirty.1 {
                files.push((SESSION_FILE, records::sessions_json(&state.tables)));
            }
            (files, dirty, journal.rotate())
        };
        let written = self.replace_files(files);
        if written.is_err() {
            let state = self.read_state();
            if dirty.0 {
                state.users_dirty.store(true, Ordering::Relaxed);
            }
            if dirty.1 {
                state.sessions_dirty.store(true, Ordering::Relaxed);
            }
        }
        written?;
        self.lock_journal()
            .remove_through(covered)
            .map_err(|e| RepositoryError::Unexpected(Box::new(e)))
    }

    fn replace_files(
        &self,
        files: Vec<(&str, Result<Vec<u8>, serde_json::Error>)>,
    ) -> Result<(), RepositoryError> {
        if files.is_empty() {
            return Ok(());
        }
        for (name, bytes) in files {
            let bytes = bytes.map_err(|e| RepositoryError::Unexpected(Box::new(e)))?;
            atomic_file::replace(&self.dir, name, &bytes).map_err(unexpected)?;
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        atomic_file::sync_dir(&self.dir).map_err(unexpected)
    }
}

fn unexpected(e: WriteError) -> RepositoryError {
    RepositoryError::Unexpected(Box::new(e))
}
