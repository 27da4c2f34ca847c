//! The store's hooks into the session caches: after a change, this
//! process's cache forgets what it names and the others are waited for
//! (see `cache`).

use sea_orm::DbBackend;

use crate::cache::{self, Change};
use crate::store::SqlStore;

impl SqlStore {
    /// Forgets what `change` names from this process's session cache.
    pub(crate) fn forget(&self, change: &Change<'_>) {
        if let Some(cache) = &self.cache {
            cache.forget(change);
        }
    }

    /// After a change of `rows` rows committed: this process's cache
    /// forgets what it names, and, on PostgreSQL, the caller is answered
    /// only once every other process's cache has heard of it (the
    /// triggers' notification, confirmed by [`cache::fence`]).
    pub(crate) async fn changed(&self, change: &Change<'_>, rows: u64) {
        self.forget(change);
        if rows > 0 && self.db.get_database_backend() == DbBackend::Postgres {
            cache::fence(&self.db, self.cache.as_deref()).await;
        }
    }
}
