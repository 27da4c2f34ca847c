//! Recovery tickets (password-reset tokens' digests) in process memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

use domain::{
    RecoveryKey, RecoveryPurpose, RecoveryTicket, RecoveryTokenRepository, RepositoryError, UserId,
};

/// Recovery tickets in process memory, by key. Used by the memory storage
/// (and, persisted, by the file storage): a restart forgets them, so links
/// mailed before it stop working.
#[derive(Debug, Default)]
pub struct MemoryRecoveryTickets {
    tickets: Mutex<HashMap<RecoveryKey, RecoveryTicket>>,
}

impl MemoryRecoveryTickets {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn tickets(&self) -> std::sync::MutexGuard<'_, HashMap<RecoveryKey, RecoveryTicket>> {
        // Every change is one map operation: a poisoned lock is still whole.
        self.tickets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every ticket, for a store that persists them.
    pub fn all(&self) -> Vec<RecoveryTicket> {
        self.tickets().values().cloned().collect()
    }

    /// Puts `ticket` in, replacing one with the same key; for a store
    /// that loads them.
    pub fn put(&self, ticket: RecoveryTicket) {
        self.tickets().insert(ticket.key.clone(), ticket);
    }

    /// Removes the ticket under `key`; whether there was one.
    pub fn remove(&self, key: &RecoveryKey) -> bool {
        self.tickets().remove(key).is_some()
    }

    /// Removes the tickets `doomed` selects; how many.
    pub fn remove_where(&self, doomed: impl Fn(&RecoveryTicket) -> bool) -> u64 {
        let mut tickets = self.tickets();
        let before = tickets.len();
        tickets.retain(|_, ticket| !doomed(ticket));
        (before - tickets.len()) as u64
    }
}

#[async_trait]
impl RecoveryTokenRepository for MemoryRecoveryTickets {
    async fn insert_ticket(&self, ticket: &RecoveryTicket) -> Result<(), RepositoryError> {
        self.put(ticket.clone());
        Ok(())
    }

    async fn find_ticket(
        &self,
        key: &RecoveryKey,
    ) -> Result<Option<RecoveryTicket>, RepositoryError> {
        Ok(self.tickets().get(key).cloned())
    }

    async fn take_ticket(&self, key: &RecoveryKey) -> Result<bool, RepositoryError> {
        Ok(self.remove(key))
    }

    async fn delete_tickets_of(
        &self,
        user: &UserId,
        purpose: RecoveryPurpose,
    ) -> Result<u64, RepositoryError> {
        Ok(self.remove_where(|ticket| ticket.user_id == *user && ticket.purpose == purpose))
    }

    async fn delete_expired_tickets(&self, now: DateTime<Utc>) -> Result<u64, RepositoryError> {
        Ok(self.remove_where(|ticket| !ticket.is_live(now)))
    }
}
