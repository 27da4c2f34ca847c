//! Both storage ports over [`Tables`] in process memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::RwLock;

use domain::{
    Email, NameChange, PasswordHash, RepositoryError, Session, SessionKey, SessionRepository, User,
    UserId, UserRepository,
};

use crate::Tables;

/// Both storage ports over [`Tables`] in process memory. Nothing survives a
/// restart.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: RwLock<Tables>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tables> {
        // A panic while holding the lock cannot leave the tables half
        // updated (every mutation is a single map operation sequence that
        // does not panic), so a poisoned lock is still safe to use.
        self.tables
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tables> {
        self.tables
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl UserRepository for MemoryStore {
    async fn insert(&self, user: &User) -> Result<(), RepositoryError> {
        self.write().insert_user(user)
    }

    async fn insert_imported(&self, user: &User) -> Result<(), RepositoryError> {
        self.write().insert_imported_user(user)
    }

    async fn get(&self, id: &UserId) -> Result<Option<User>, RepositoryError> {
        Ok(self.read().user(id).cloned())
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError> {
        Ok(self.read().user_by_email(email).cloned())
    }

    async fn list(&self) -> Result<Vec<User>, RepositoryError> {
        Ok(self.read().users().cloned().collect())
    }

    async fn count(&self) -> Result<u64, RepositoryError> {
        Ok(self.read().users().len() as u64)
    }

    async fn update(&self, user: &User) -> Result<bool, RepositoryError> {
        self.write().update_user(user)
    }

    async fn update_names(
        &self,
        id: &UserId,
        names: &NameChange,
        at: DateTime<Utc>,
    ) -> Result<Option<User>, RepositoryError> {
        let mut tables = self.write();
        let Some(renamed) = tables.renamed(id, names, at) else {
            return Ok(None);
        };
        tables.update_user(&renamed)?;
        Ok(Some(renamed))
    }

    async fn replace_password_hash(
        &self,
        id: &UserId,
        expected: &PasswordHash,
        new: &PasswordHash,
        at: Option<DateTime<Utc>>,
    ) -> Result<bool, RepositoryError> {
        let mut tables = self.write();
        match tables.with_password_hash(id, expected, new, at) {
            Some(changed) => tables.update_user(&changed),
            None => Ok(false),
        }
    }

    async fn set_admin(
        &self,
        id: &UserId,
        is_admin: bool,
        at: DateTime<Utc>,
    ) -> Result<Option<User>, RepositoryError> {
        let mut tables = self.write();
        let changed = tables.with_admin(id, is_admin, at)?;
        if let Some(user) = &changed {
            tables.update_user(user)?;
        }
        Ok(changed)
    }

    async fn delete(&self, id: &UserId) -> Result<bool, RepositoryError> {
        Ok(self.write().delete_user(id))
    }
}

#[async_trait]
impl SessionRepository for MemoryStore {
    async fn insert(&self, session: &Session) -> Result<(), RepositoryError> {
        self.write().insert_session(session);
        Ok(())
    }

    async fn find(&self, key: &SessionKey) -> Result<Option<Session>, RepositoryError> {
        Ok(self.read().session(key))
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, RepositoryError> {
        Ok(self.write().delete_session(key))
    }

    async fn touch(&self, key: &SessionKey, at: DateTime<Utc>) -> Result<bool, RepositoryError> {
        Ok(self.write().touch_session(key, at))
    }

    async fn list_by_user(&self, user_id: &UserId) -> Result<Vec<Session>, RepositoryError> {
        Ok(self.read().sessions_of(user_id))
    }

    async fn delete_by_user(
        &self,
        user_id: &UserId,
        except: Option<&SessionKey>,
    ) -> Result<u64, RepositoryError> {
        Ok(self.write().delete_sessions_of(user_id, except))
    }

    async fn delete_expired(
        &self,
        created_before: Option<DateTime<Utc>>,
        last_used_before: Option<DateTime<Utc>>,
    ) -> Result<u64, RepositoryError> {
        Ok(self
            .write()
            .delete_expired_sessions(created_before, last_used_before))
    }

    async fn count_live(
        &self,
        created_before: Option<DateTime<Utc>>,
        last_used_before: Option<DateTime<Utc>>,
    ) -> Result<Option<u64>, RepositoryError> {
        Ok(Some(
            self.read()
                .count_live_sessions(created_before, last_used_before),
        ))
    }
}
