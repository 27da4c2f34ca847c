//! The storage contract suite run against the JSON file store, three ways.
//! Every check ends by opening the directory again and finding the same
//! data, which is what shows each change was on disk when its method
//! returned:
//! - `crashed`: the store is dropped without its clean shutdown, so the
//!   reopened store replays the journal over Flask files that hold none of
//!   the changes: a crash between append and compaction;
//! - `closed`: the store is closed first, so the reopened store reads
//!   plain Flask files and no journal;
//! - `compacting`: a journal of a few hundred bytes, so compactions run in
//!   the background during the check, then a crash: the reopened store
//!   replays what was appended after the last compaction (and what a
//!   compaction had already covered, when the crash came in between).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use adapter_file::{FileStore, JOURNAL_PREFIX, JournalSettings};
use integration_tests::storage_contract::{Backend, Stores};
use tempfile::TempDir;

/// The server's default compaction thresholds, written out: the
/// `crashed` and `closed` checks never reach them.
fn server_journal() -> JournalSettings {
    JournalSettings {
        compact_bytes: 16 * 1024 * 1024,
        compact_age: Duration::from_secs(600),
    }
}

async fn open(dir: &TempDir, settings: JournalSettings) -> Arc<FileStore> {
    match FileStore::open_with(dir.path(), settings).await {
        Ok(store) => Arc::new(store),
        Err(e) => panic!("cannot open {}: {e}", dir.path().display()),
    }
}

fn stores(store: &Arc<FileStore>) -> Stores {
    Stores {
        users: store.clone(),
        sessions: store.clone(),
    }
}

fn temporary_dir() -> TempDir {
    TempDir::new().unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"))
}

fn journal_files(dir: &TempDir) -> usize {
    std::fs::read_dir(dir.path())
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.path().display()))
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(JOURNAL_PREFIX))
        .count()
}

mod crashed {
    use super::*;

    /// A [`FileStore`] over a fresh temporary directory per check, reopened
    /// without its clean shutdown.
    struct Crashed {
        dir: TempDir,
    }

    impl Backend for Crashed {
        async fn create() -> (Self, Stores) {
            let dir = temporary_dir();
            let store = open(&dir, server_journal()).await;
            (Crashed { dir }, stores(&store))
        }

        async fn reopen(&self) -> Option<Stores> {
            Some(stores(&open(&self.dir, server_journal()).await))
        }
    }

    integration_tests::storage_contract_tests!(Crashed);
}

mod closed {
    use super::*;

    /// A [`FileStore`] closed (journal compacted into the Flask files)
    /// before it is reopened.
    struct Closed {
        dir: TempDir,
        store: Mutex<Option<Arc<FileStore>>>,
    }

    impl Backend for Closed {
        async fn create() -> (Self, Stores) {
            let dir = temporary_dir();
            let store = open(&dir, server_journal()).await;
            let stores = stores(&store);
            let backend = Closed {
                dir,
                store: Mutex::new(Some(store)),
            };
            (backend, stores)
        }

        async fn reopen(&self) -> Option<Stores> {
            let store = self
                .store
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(store) = store {
                if let Err(e) = store.close().await {
                    panic!("closing failed: {e}");
                }
                drop(store);
            }
            assert_eq!(journal_files(&self.dir), 0, "a journal survived close");
            Some(stores(&open(&self.dir, server_journal()).await))
        }
    }

    integration_tests::storage_contract_tests!(Closed);
}

mod compacting {
    use super::*;

    fn tiny_journal() -> JournalSettings {
        JournalSettings {
            compact_bytes: 600,
            compact_age: Duration::from_millis(20),
        }
    }

    /// A [`FileStore`] compacting all the time, reopened without its clean
    /// shutdown.
    struct Compacting {
        dir: TempDir,
    }

    impl Backend for Compacting {
        async fn create() -> (Self, Stores) {
            let dir = temporary_dir();
            let store = open(&dir, tiny_journal()).await;
            (Compacting { dir }, stores(&store))
        }

        async fn reopen(&self) -> Option<Stores> {
            // A compaction still running holds the directory's lock a
            // moment after the last handle is gone.
            for _ in 0..100 {
                match FileStore::open_with(self.dir.path(), tiny_journal()).await {
                    Ok(store) => return Some(stores(&Arc::new(store))),
                    Err(adapter_file::OpenError::Locked { .. }) => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => panic!("cannot open {}: {e}", self.dir.path().display()),
                }
            }
            panic!("the directory stayed locked");
        }
    }

    integration_tests::storage_contract_tests!(Compacting);
}
