//! The storage contract suite run against the SeaORM adapter: on SQLite
//! always, on PostgreSQL when `TEST_DATABASE_URL` is set at build time. Each
//! check gets its own database; reopening connects anew to the same one, so
//! every change must have been committed when its method returned.

use std::sync::Arc;

use integration_tests::sql_database::TestDatabase;
use integration_tests::storage_contract::{Backend, Stores};

async fn stores(db: &TestDatabase) -> Stores {
    let store = Arc::new(db.store().await);
    Stores {
        users: store.clone(),
        sessions: store,
    }
}

mod sqlite {
    use super::*;

    struct Sqlite(TestDatabase);

    impl Backend for Sqlite {
        async fn create() -> (Self, Stores) {
            let db = TestDatabase::sqlite();
            let stores = stores(&db).await;
            (Sqlite(db), stores)
        }

        async fn reopen(&self) -> Option<Stores> {
            Some(stores(&self.0).await)
        }
    }

    integration_tests::storage_contract_tests!(Sqlite);
}

#[cfg(postgres_tests)]
mod postgres {
    use super::*;

    struct Postgres(TestDatabase);

    impl Backend for Postgres {
        async fn create() -> (Self, Stores) {
            let db = TestDatabase::postgres().await;
            let stores = stores(&db).await;
            (Postgres(db), stores)
        }

        async fn reopen(&self) -> Option<Stores> {
            Some(stores(&self.0).await)
        }
    }

    integration_tests::storage_contract_tests!(Postgres);
}
