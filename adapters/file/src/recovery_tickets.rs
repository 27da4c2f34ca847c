//! Password-reset tickets beside the Flask files, in a file of their own
//! (`.session-auth.recovery.json`, which the Flask API never reads): the
//! tickets are served from memory and the whole file is replaced,
//! atomically, after every change. There are few (each is a mailed link,
//! held to the request limits and swept at expiry), so a rewrite is small.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use adapter_memory::MemoryRecoveryTickets;
use domain::{
    RecoveryKey, RecoveryPurpose, RecoveryTicket, RecoveryTokenRepository, RepositoryError, UserId,
};

use crate::atomic_file::{replace, sync_dir};
use crate::error::OpenError;

/// The tickets' file, in the data directory.
pub const RECOVERY_FILE: &str = ".session-auth.recovery.json";

/// One ticket as the file keeps it.
#[derive(Serialize, Deserialize)]
struct Row {
    key: String,
    user_id: String,
    purpose: String,
    /// Unix seconds.
    created_at: i64,
    /// Unix seconds.
    expires_at: i64,
}

impl Row {
    fn of(ticket: &RecoveryTicket) -> Self {
        Self {
            key: ticket.key.as_str().to_owned(),
            user_id: ticket.user_id.to_string(),
            purpose: ticket.purpose.as_str().to_owned(),
            created_at: ticket.created_at.timestamp(),
            expires_at: ticket.expires_at.timestamp(),
        }
    }

    fn ticket(self) -> Option<RecoveryTicket> {
        Some(RecoveryTicket {
            key: RecoveryKey::parse(&self.key)?,
            user_id: UserId::parse(&self.user_id)?,
            purpose: RecoveryPurpose::parse(&self.purpose)?,
            created_at: DateTime::from_timestamp(self.created_at, 0)?,
            expires_at: DateTime::from_timestamp(self.expires_at, 0)?,
        })
    }
}

/// Recovery tickets in the data directory's own file.
pub struct FileRecoveryTickets {
    dir: PathBuf,
    tickets: Arc<MemoryRecoveryTickets>,
    /// One rewrite at a time, each of the tickets as they are then.
    writing: tokio::sync::Mutex<()>,
}

impl FileRecoveryTickets {
    /// Loads the tickets of `dir` (none when it has no file yet).
    ///
    /// # Errors
    /// [`OpenError`] naming the file when it cannot be read or parsed.
    pub fn open(dir: &Path) -> Result<Self, OpenError> {
        let path = dir.join(RECOVERY_FILE);
        let tickets = MemoryRecoveryTickets::new();
        match std::fs::read(&path) {
            Ok(bytes) => {
                let rows: Vec<Row> =
                    serde_json::from_slice(&bytes).map_err(|source| OpenError::Syntax {
                        path: path.clone(),
                        line: source.line(),
                        column: source.column(),
                        source,
                    })?;
                for (index, row) in rows.into_iter().enumerate() {
                    let ticket = row.ticket().ok_or_else(|| OpenError::BadRecord {
                        path: path.clone(),
                        record: index.to_string(),
                        problem: "is not a recovery ticket".into(),
                    })?;
                    tickets.put(ticket);
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(OpenError::Read { path, source }),
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            tickets: Arc::new(tickets),
            writing: tokio::sync::Mutex::new(()),
        })
    }

    /// Replaces the file with the tickets held now.
    async fn persist(&self) -> Result<(), RepositoryError> {
        let _one_writer = self.writing.lock().await;
        let rows: Vec<Row> = self.tickets.all().iter().map(Row::of).collect();
        let bytes = serde_json::to_vec(&rows)
            .map_err(|error| RepositoryError::Unexpected(Box::new(error)))?;
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            replace(&dir, RECOVERY_FILE, &bytes)?;
            sync_dir(&dir)
        })
        .await
        .map_err(|error| RepositoryError::Unexpected(Box::new(error)))?
        .map_err(|error| RepositoryError::Unavailable(Box::new(error)))
    }
}

#[async_trait]
impl RecoveryTokenRepository for FileRecoveryTickets {
    async fn insert_ticket(&self, ticket: &RecoveryTicket) -> Result<(), RepositoryError> {
        self.tickets.put(ticket.clone());
        if let Err(error) = self.persist().await {
            // Not on disk, so not kept: the link would not survive a restart.
            self.tickets.remove(&ticket.key);
            return Err(error);
        }
        Ok(())
    }

    async fn find_ticket(
        &self,
        key: &RecoveryKey,
    ) -> Result<Option<RecoveryTicket>, RepositoryError> {
        self.tickets.find_ticket(key).await
    }

    async fn take_ticket(&self, key: &RecoveryKey) -> Result<bool, RepositoryError> {
        // Taken in memory first, so of two concurrent takes one wins; a
        // failed rewrite leaves it taken (a used link must not come back).
        let taken = self.tickets.remove(key);
        if taken {
            self.persist().await?;
        }
        Ok(taken)
    }

    async fn delete_tickets_of(
        &self,
        user: &UserId,
        purpose: RecoveryPurpose,
    ) -> Result<u64, RepositoryError> {
        let removed = self
            .tickets
            .remove_where(|ticket| ticket.user_id == *user && ticket.purpose == purpose);
        if removed > 0 {
            self.persist().await?;
        }
        Ok(removed)
    }

    async fn delete_expired_tickets(&self, now: DateTime<Utc>) -> Result<u64, RepositoryError> {
        let removed = self.tickets.remove_where(|ticket| !ticket.is_live(now));
        if removed > 0 {
            self.persist().await?;
        }
        Ok(removed)
    }
}
