//! The store's hooks into the session caches: after a change, this
//! process's cache forgets what it names and the others are waited for
//! (see `cache`); after a touch (activity), only this process's cache
//! forgets: the others hear it from its notification, unwaited.

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

    /// After an ending or changing statement on sessions or users (a
    /// logout, a revocation, a password, a deletion, the sweep): this
    /// process's cache forgets what `change` names, and, on PostgreSQL,
    /// the caller is answered only once every other process's cache has
    /// heard of it (the triggers' notification, confirmed by
    /// [`cache::fence`]). Whether the statement changed rows or not: one
    /// that found nothing to change may have raced another process's
    /// change, still unheard by some cache, and its caller must not be told
    /// the session is gone before every cache has heard it.
    pub(crate) async fn changed(&self, change: &Change<'_>) {
        self.forget(change);
        self.fence_others().await;
    }

    /// On PostgreSQL, waits until every other process's cache has heard
    /// what committed so far (see [`cache::fence`]).
    pub(crate) async fn fence_others(&self) {
        if self.db.get_database_backend() == DbBackend::Postgres {
            cache::fence(&self.db, self.cache.as_deref()).await;
        }
    }
}
