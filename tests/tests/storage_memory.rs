//! The storage contract suite run against the in-memory store.

use std::sync::Arc;

use adapter_memory::MemoryStore;
use integration_tests::storage_contract::{Backend, Stores};

/// A fresh [`MemoryStore`] per check; nothing outlives it.
struct Memory;

impl Backend for Memory {
    async fn create() -> (Self, Stores) {
        let store = Arc::new(MemoryStore::new());
        let stores = Stores {
            users: store.clone(),
            sessions: store,
        };
        (Memory, stores)
    }

    async fn reopen(&self) -> Option<Stores> {
        None
    }
}

integration_tests::storage_contract_tests!(Memory);
