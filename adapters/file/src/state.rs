//! The file store's shared state: the tables and what separates them from
//! the disk, the journal's appending end, and the locks over them.

use std::collections::VecDeque;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use adapter_memory::Tables;

use crate::journal::Writer;
use crate::undo::Undo;

/// What the store shares with its committers and its compactor.
pub(crate) struct Inner {
    pub(crate) dir: PathBuf,
    pub(crate) state: RwLock<State>,
    /// The journal's appending end. Whoever holds it writes every pending
    /// entry in one append (group commit).
    pub(crate) journal: Mutex<Writer>,
    /// Where committers wait their turn for `journal`.
    pub(crate) gate: tokio::sync::Mutex<()>,
    /// One compaction at a time.
    pub(crate) compaction: Mutex<()>,
    pub(crate) writes: AtomicU64,
    /// Held only to keep the directory locked until the store is dropped.
    pub(crate) _lock: File,
}

/// The in-memory data and what separates it from the disk.
pub(crate) struct State {
    pub(crate) tables: Tables,
    /// The Flask files lag behind the tables.
    pub(crate) users_dirty: AtomicBool,
    pub(crate) sessions_dirty: AtomicBool,
    /// Encoded entries of applied changes not yet appended.
    pub(crate) pending: Vec<u8>,
    /// How to undo each applied change not yet durable, oldest first.
    pub(crate) undo: VecDeque<(u64, Vec<Undo>)>,
    /// The sequence number of the next change.
    pub(crate) next_seq: u64,
}

impl Inner {
    pub(crate) fn read_state(&self) -> RwLockReadGuard<'_, State> {
        // Table operations do not panic half-way (see adapter_memory), so a
        // poisoned lock still guards consistent tables.
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn lock_journal(&self) -> MutexGuard<'_, Writer> {
        self.journal.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
