//! The journal's appending end: entries appended and flushed to disk,
//! generations started and deleted around compactions, and how much
//! journal awaits compaction.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::files::{generations, path_of};
use super::replay::Replayed;
use crate::atomic_file::{WriteError, sync_dir};
use crate::error::OpenError;

/// How much journal awaits compaction. The background compactor reads it
/// without the journal's lock and without keeping the store alive.
#[derive(Debug)]
pub(crate) struct Progress {
    epoch: Instant,
    bytes: AtomicU64,
    /// Milliseconds from `epoch` to the first entry since the last
    /// compaction; `u64::MAX` when there is none.
    first_at: AtomicU64,
    /// Compact at the next opportunity, whatever the journal's size.
    pub soon: AtomicBool,
}

impl Progress {
    fn new(bytes: u64) -> Self {
        let progress = Self {
            epoch: Instant::now(),
            bytes: AtomicU64::new(0),
            first_at: AtomicU64::new(u64::MAX),
            soon: AtomicBool::new(false),
        };
        progress.add(bytes);
        progress
    }

    fn add(&self, bytes: u64) {
        if bytes == 0 {
            return;
        }
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        let now = self.epoch.elapsed().as_millis() as u64;
        let _ = self
            .first_at
            .compare_exchange(u64::MAX, now, Ordering::Relaxed, Ordering::Relaxed);
    }

    fn reset(&self) {
        self.bytes.store(0, Ordering::Relaxed);
        self.first_at.store(u64::MAX, Ordering::Relaxed);
    }

    /// Whether the journal is past `bytes` or its oldest entry past `age`.
    pub(crate) fn due(&self, bytes: u64, age: Duration) -> bool {
        if self.soon.load(Ordering::Relaxed) || self.bytes.load(Ordering::Relaxed) >= bytes {
            return true;
        }
        let first = self.first_at.load(Ordering::Relaxed);
        first != u64::MAX
            && self.epoch.elapsed().as_millis() as u64
                >= first.saturating_add(age.as_millis() as u64)
    }
}

/// The appending end of the journal, and the group commit's bookkeeping.
/// Held under a mutex by whoever is writing, so writes never interleave.
#[derive(Debug)]
pub(crate) struct Writer {
    dir: PathBuf,
    /// The generation appended to.
    generation: u64,
    /// Open once the generation's file exists.
    file: Option<File>,
    /// Bytes of acknowledged entries in the generation's file.
    len: u64,
    /// A write failed after `len`: what follows must be cut off first.
    torn: bool,
    /// What awaits compaction.
    pub progress: Arc<Progress>,
    /// Every change with a sequence number up to this one is durable...
    pub durable_through: u64,
    /// ...except these, which were rolled back; each waiter removes its own.
    pub failed: HashSet<u64>,
    /// How many appends (each one flush) were made.
    pub flushes: u64,
}

impl Writer {
    /// A writer continuing what [`replay`](super::replay::replay) found: appending to the newest
    /// generation after its last valid entry (a torn entry is cut off
    /// first), or starting generation 1.
    pub(crate) fn resume(dir: &Path, replayed: &Replayed) -> Result<Self, OpenError> {
        let mut writer = Self {
            dir: dir.to_path_buf(),
            generation: replayed.generations.last().copied().unwrap_or(1),
            file: None,
            len: replayed.valid_len,
            torn: replayed.torn,
            progress: Arc::new(Progress::new(replayed.bytes)),
            durable_through: 0,
            failed: HashSet::new(),
            flushes: 0,
        };
        if !replayed.generations.is_empty() {
            let path = path_of(dir, writer.generation);
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|source| OpenError::Read {
                    path: path.clone(),
                    source,
                })?;
            // The torn entry is cut off now, not at the next append: a
            // compaction may start a newer generation first, and a torn
            // entry must only ever be found at the very end of the journal.
            if writer.torn {
                file.set_len(writer.len)
                    .and_then(|()| file.sync_data())
                    .map_err(|source| OpenError::Read { path, source })?;
                writer.torn = false;
            }
            writer.file = Some(file);
        }
        Ok(writer)
    }

    /// Appends `bytes` (whole entries) and flushes them to disk.
    pub(crate) fn append(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        let path = path_of(&self.dir, self.generation);
        let failed = |source| WriteError {
            path: path.clone(),
            source,
        };
        let file = match self.file.take() {
            Some(file) => file,
            None => {
                // Entries hold password hashes: readable by the owner only,
                // as the Flask files this store writes.
                let file = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(failed)?;
                // The new file's name must survive a power loss too.
                sync_dir(&self.dir)?;
                file
            }
        };
        let file = &*self.file.insert(file);
        if self.torn {
            file.set_len(self.len).map_err(failed)?;
            self.torn = false;
        }
        let written = file
            .write_all_at(bytes, self.len)
            .and_then(|()| file.sync_data());
        if let Err(source) = written {
            self.torn = true;
            return Err(failed(source));
        }
        self.len += bytes.len() as u64;
        self.progress.add(bytes.len() as u64);
        self.flushes += 1;
        Ok(())
    }

    /// Starts a new generation for later appends; the generations up to
    /// the returned one are covered once the state they led to is in the
    /// Flask files. Call only when every applied change is durable.
    pub(crate) fn rotate(&mut self) -> u64 {
        let covered = self.generation;
        if self.file.take().is_some() {
            self.generation += 1;
        }
        self.len = 0;
        self.torn = false;
        self.progress.reset();
        covered
    }

    /// Deletes the generations up to `covered` (the Flask files hold their
    /// changes) and flushes the directory.
    pub(crate) fn remove_through(&self, covered: u64) -> Result<(), WriteError> {
        let generations = generations(&self.dir).map_err(|e| WriteError {
            path: self.dir.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        for n in generations.into_iter().filter(|n| *n <= covered) {
            if n == self.generation && self.file.is_some() {
                continue;
            }
            let path = path_of(&self.dir, n);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(WriteError { path, source }),
            }
        }
        sync_dir(&self.dir)
    }
}
