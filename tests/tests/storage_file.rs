//! The storage contract suite run against the JSON file store. Every check
//! ends by opening the directory again and finding the same data, which is
//! what shows each change was on disk when its method returned.

use std::sync::Arc;

use adapter_file::FileStore;
use integration_tests::storage_contract::{Backend, Stores};
use tempfile::TempDir;

/// A [`FileStore`] over a fresh temporary directory per check.
struct Files {
    dir: TempDir,
}

async fn open(dir: &TempDir) -> Stores {
    let store = match FileStore::open(dir.path()).await {
        Ok(store) => Arc::new(store),
        Err(e) => panic!("cannot open {}: {e}", dir.path().display()),
    };
    Stores {
        users: store.clone(),
        sessions: store,
    }
}

impl Backend for Files {
    async fn create() -> (Self, Stores) {
        let dir = match TempDir::new() {
            Ok(dir) => dir,
            Err(e) => panic!("cannot create a temporary directory: {e}"),
        };
        let stores = open(&dir).await;
        (Files { dir }, stores)
    }

    async fn reopen(&self) -> Option<Stores> {
        Some(open(&self.dir).await)
    }
}

integration_tests::storage_contract_tests!(Files);
