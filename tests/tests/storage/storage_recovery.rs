//! The recovery-ticket contract on every storage: memory, the file
//! storage's own tickets file (reopened from the file alone), SQLite and
//! PostgreSQL (reopened over a new connection pool).

use std::sync::Arc;

use adapter_file::{FileRecoveryTickets, FileStore};
use adapter_memory::{MemoryRecoveryTickets, MemoryStore};
use integration_tests::recovery_contract::{TicketBackend, TicketStores};
use integration_tests::sql_database::TestDatabase;
use tempfile::TempDir;

/// Tickets and users in process memory; nothing outlives them.
struct Memory;

impl TicketBackend for Memory {
    async fn create() -> (Self, TicketStores) {
        let stores = TicketStores {
            users: Arc::new(MemoryStore::new()),
            tickets: Arc::new(MemoryRecoveryTickets::new()),
        };
        (Memory, stores)
    }

    async fn reopen(&self) -> Option<TicketStores> {
        None
    }
}

mod memory {
    use super::Memory;

    integration_tests::recovery_contract_tests!(Memory);
}

/// The file storage over a fresh temporary directory; reopened as the
/// tickets file alone, which is what must hold them.
struct Files {
    dir: TempDir,
}

fn tickets_of(dir: &TempDir) -> Arc<FileRecoveryTickets> {
    match FileRecoveryTickets::open(dir.path()) {
        Ok(tickets) => Arc::new(tickets),
        Err(e) => panic!("cannot open the tickets of {}: {e}", dir.path().display()),
    }
}

impl TicketBackend for Files {
    async fn create() -> (Self, TicketStores) {
        let dir = TempDir::new().unwrap_or_else(|e| panic!("no temporary directory: {e}"));
        let users = match FileStore::open_blocking(dir.path()) {
            Ok(store) => Arc::new(store),
            Err(e) => panic!("cannot open {}: {e}", dir.path().display()),
        };
        let stores = TicketStores {
            users,
            tickets: tickets_of(&dir),
        };
        (Files { dir }, stores)
    }

    async fn reopen(&self) -> Option<TicketStores> {
        Some(TicketStores {
            users: Arc::new(MemoryStore::new()),
            tickets: tickets_of(&self.dir),
        })
    }
}

mod file {
    use super::Files;

    integration_tests::recovery_contract_tests!(Files);
}

async fn sql_stores(db: &TestDatabase) -> TicketStores {
    let store = Arc::new(db.store().await);
    TicketStores {
        users: store.clone(),
        tickets: store,
    }
}

/// A migrated SQLite database.
struct Sqlite(TestDatabase);

impl TicketBackend for Sqlite {
    async fn create() -> (Self, TicketStores) {
        let db = TestDatabase::sqlite();
        let stores = sql_stores(&db).await;
        (Sqlite(db), stores)
    }

    async fn reopen(&self) -> Option<TicketStores> {
        Some(sql_stores(&self.0).await)
    }
}

mod sqlite {
    use super::Sqlite;

    integration_tests::recovery_contract_tests!(Sqlite);
}

#[cfg(postgres_tests)]
mod postgres {
    use super::*;

    /// A migrated PostgreSQL database.
    pub(super) struct Postgres(TestDatabase);

    impl TicketBackend for Postgres {
        async fn create() -> (Self, TicketStores) {
            let db = TestDatabase::postgres().await;
            let stores = sql_stores(&db).await;
            (Postgres(db), stores)
        }

        async fn reopen(&self) -> Option<TicketStores> {
            Some(sql_stores(&self.0).await)
        }
    }

    integration_tests::recovery_contract_tests!(Postgres);
}
