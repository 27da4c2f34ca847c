//! [`FileStore`]: opening, the clean shutdown, and how a change is
//! applied in memory, journaled and acknowledged once durable.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLockReadGuard};

use adapter_memory::Tables;
use domain::RepositoryError;

use crate::compaction::{JournalSettings, compactor};
use crate::error::OpenError;
use crate::journal::{self, Op};
use crate::load;
use crate::state::{Inner, State};
use crate::undo::{Undo, apply_undoable};

/// Both storage ports over the JSON files of one data directory.
///
/// One store serves both ports so that deleting a user and their sessions
/// is one change. The store holds an exclusive lock on the directory for
/// its whole life; dropping it releases the lock. Dropping it without
/// [`FileStore::close`] leaves the journal to be replayed by the next
/// open, exactly as a crash would.
///
/// # Failed writes
/// When the journal cannot be written, the method that made the change
/// returns [`RepositoryError::Unexpected`] (the [`WriteError`](crate::WriteError) as its
/// source) and the change is undone in memory, together with every other
/// change not yet on disk (those fail too): nothing that was not made
/// durable stays visible.
pub struct FileStore {
    inner: Arc<Inner>,
    compactor: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("dir", &self.inner.dir)
            .field("writes_performed", &self.writes_performed())
            .finish_non_exhaustive()
    }
}

impl Drop for FileStore {
    fn drop(&mut self) {
        if let Some(compactor) = self.compactor.take() {
            compactor.abort();
        }
    }
}

impl FileStore {
    /// Opens the data directory `dir`: creates it if missing, locks it,
    /// removes temporary files a crashed compaction left, loads both Flask
    /// files (a missing file is empty storage) and replays the journal over
    /// them, dropping a torn last entry with a warning. The blocking work
    /// runs on the blocking pool; compaction then runs in the background.
    ///
    /// # Errors
    /// [`OpenError`] when the directory is locked by another store, cannot
    /// be created or read, a file is not valid JSON or holds a record that
    /// cannot be used, or the journal is damaged other than by a crash. The
    /// Flask files are never modified by opening.
    pub async fn open_with(dir: &Path, settings: JournalSettings) -> Result<Self, OpenError> {
        let owned = dir.to_path_buf();
        let mut store = tokio::task::spawn_blocking(move || Self::open_blocking(&owned))
            .await
            .map_err(|source| OpenError::Interrupted {
                dir: dir.to_path_buf(),
                source,
            })??;
        let progress = Arc::clone(&store.inner.lock_journal().progress);
        store.compactor = Some(tokio::spawn(compactor(
            Arc::downgrade(&store.inner),
            progress,
            settings,
        )));
        Ok(store)
    }

    /// [`FileStore::open_with`] for callers outside an async context; it
    /// compacts only when asked ([`FileStore::compact_blocking`]), so it
    /// takes no [`JournalSettings`].
    ///
    /// # Errors
    /// As [`FileStore::open_with`].
    pub fn open_blocking(dir: &Path) -> Result<Self, OpenError> {
        std::fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir {
            dir: dir.to_path_buf(),
            source,
        })?;
        Ok(Self {
            inner: Arc::new(load::open_dir(dir)?),
            compactor: None,
        })
    }

    /// How many Flask file replacements this store has performed.
    pub fn writes_performed(&self) -> u64 {
        self.inner.writes.load(Ordering::Relaxed)
    }

    /// How many journal appends (each one flush to disk) this store has
    /// performed; lets tests observe that concurrent changes share them.
    pub fn journal_flushes(&self) -> u64 {
        self.inner.lock_journal().flushes
    }

    /// Rewrites the Flask files that lag behind memory and deletes the
    /// journal they now cover. Changes keep being served meanwhile.
    ///
    /// # Errors
    /// [`RepositoryError::Unexpected`] when a file cannot be written; the
    /// journal is then kept, so nothing is lost.
    pub async fn compact(&self) -> Result<(), RepositoryError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.compact())
            .await
            .map_err(|e| RepositoryError::Unexpected(Box::new(e)))?
    }

    /// [`FileStore::compact`] for callers outside an async context.
    ///
    /// # Errors
    /// As [`FileStore::compact`].
    pub fn compact_blocking(&self) -> Result<(), RepositoryError> {
        self.inner.compact()
    }

    /// The clean shutdown: stops background compaction and compacts, so
    /// the folder holds plain Flask files and no journal. Changes made
    /// after it are still journaled.
    ///
    /// # Errors
    /// As [`FileStore::compact`]; the journal then stays for the next
    /// open to replay.
    pub async fn close(&self) -> Result<(), RepositoryError> {
        if let Some(compactor) = &self.compactor {
            compactor.abort();
        }
        self.compact().await
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State> {
        self.inner.read_state()
    }

    /// Decides a change from the tables (`decide` validates and returns
    /// the value for the caller and the operations), applies it, appends
    /// it to the journal and returns once it is on disk. When it cannot be
    /// made durable it is undone and an error returned.
    pub(crate) async fn change<T>(
        &self,
        decide: impl FnOnce(&Tables) -> Result<(T, Vec<Op>), RepositoryError>,
    ) -> Result<T, RepositoryError> {
        let (value, seq) = {
            let mut state = self.inner.write_state();
            let (value, ops) = decide(&state.tables)?;
            if ops.is_empty() {
                return Ok(value);
            }
            let state = &mut *state;
            journal::encode(&ops, &mut state.pending)
                .map_err(|e| RepositoryError::Unexpected(Box::new(e)))?;
            let seq = state.next_seq;
            state.next_seq += 1;
            let mut undo = Vec::with_capacity(ops.len());
            for op in ops {
                let (users, sessions) = op.files();
                let step = apply_undoable(&mut state.tables, op);
                let cascaded =
                    matches!(&step, Undo::Reinsert { sessions, .. } if !sessions.is_empty());
                if users {
                    state.users_dirty.store(true, Ordering::Relaxed);
                }
                if sessions || cascaded {
                    state.sessions_dirty.store(true, Ordering::Relaxed);
                }
                undo.push(step);
            }
            state.undo.push_back((seq, undo));
            (value, seq)
        };
        // Spawned before the first await: once applied, a change is always
        // committed or undone, even if the caller goes away. Committers
        // queue at the gate without holding a thread; the first one through
        // appends every entry pending by then, so the ones queued behind it
        // usually find theirs durable already.
        let inner = Arc::clone(&self.inner);
        let committed = tokio::spawn(async move {
            let _gate = inner.gate.lock().await;
            let worker = Arc::clone(&inner);
            tokio::task::spawn_blocking(move || worker.commit(seq)).await
        });
        committed
            .await
            .map_err(|e| RepositoryError::Unexpected(Box::new(e)))?
            .map_err(|e| RepositoryError::Unexpected(Box::new(e)))??;
        Ok(value)
    }
}
