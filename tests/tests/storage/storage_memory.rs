//! The storage contract suite run against the in-memory store, and the
//! failed-login log's contract against the in-memory log (which the file
//! storage uses too).

use std::sync::Arc;

use adapter_memory::{MemoryAttemptLog, MemoryStore};
use domain::AttemptLog;
use integration_tests::storage_contract::attempt_log::AttemptBackend;
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

/// A fresh [`MemoryAttemptLog`] per check; nothing outlives it.
struct MemoryAttempts;

impl AttemptBackend for MemoryAttempts {
    async fn create() -> (Self, Arc<dyn AttemptLog>) {
        (MemoryAttempts, Arc::new(MemoryAttemptLog::new()))
    }

    async fn reopen(&self) -> Option<Arc<dyn AttemptLog>> {
        None
    }
}

mod attempts {
    use super::MemoryAttempts;

    integration_tests::attempt_log_contract_tests!(MemoryAttempts);
}
