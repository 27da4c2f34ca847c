//! Group commit: whoever holds the journal appends every pending entry in
//! one flush, making durable each change waiting for it; when the append
//! fails, every change not yet durable is undone.

use domain::RepositoryError;

use crate::atomic_file::WriteError;
use crate::journal::Writer;
use crate::state::Inner;

impl Inner {
    /// Returns once the change numbered `seq` is durable, appending every
    /// pending entry when no one else already did; an error when it was
    /// undone instead.
    pub(crate) fn commit(&self, seq: u64) -> Result<(), RepositoryError> {
        let mut journal = self.lock_journal();
        if journal.failed.remove(&seq) {
            return Err(RepositoryError::Unexpected(
                "the journal could not be written; the change was undone".into(),
            ));
        }
        if journal.durable_through >= seq {
            return Ok(());
        }
        let flushed = self.flush(&mut journal);
        journal.failed.remove(&seq);
        flushed.map_err(|e| RepositoryError::Unexpected(Box::new(e)))
    }

    /// Appends every pending entry. On failure every change not durable is
    /// undone, newest first, and marked failed for its waiter.
    pub(crate) fn flush(&self, journal: &mut Writer) -> Result<(), WriteError> {
        let (bytes, through) = {
            let mut state = self.write_state();
            (std::mem::take(&mut state.pending), state.next_seq - 1)
        };
        if bytes.is_empty() {
            journal.durable_through = through;
            return Ok(());
        }
        match journal.append(&bytes) {
            Ok(()) => {
                journal.durable_through = through;
                let mut state = self.write_state();
                while state.undo.front().is_some_and(|(seq, _)| *seq <= through) {
                    state.undo.pop_front();
                }
                Ok(())
            }
            Err(error) => {
                let mut state = self.write_state();
                let state = &mut *state;
                while let Some((seq, undo)) = state.undo.pop_back() {
                    for step in undo.into_iter().rev() {
                        step.apply(&mut state.tables);
                    }
                    journal.failed.insert(seq);
                }
                state.pending.clear();
                tracing::error!(error = %error, "cannot append to the journal; changes undone");
                Err(error)
            }
        }
    }
}
