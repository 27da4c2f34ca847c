//! The storage ports served by [`FileStore`]: reads from the tables,
//! changes through [`FileStore::change`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use domain::{
    Email, NameChange, PasswordHash, RepositoryError, Session, SessionKey, SessionRepository, User,
    UserId, UserRepository,
};

use crate::journal::Op;
use crate::store::FileStore;

#[async_trait]
impl UserRepository for FileStore {
    async fn insert(&self, user: &User) -> Result<(), RepositoryError> {
        self.change(|t| {
            t.check_new_user(user)?;
            Ok(((), vec![Op::PutUser(user.clone())]))
        })
        .await
    }

    async fn insert_imported(&self, user: &User) -> Result<(), RepositoryError> {
        self.change(|t| {
            t.check_imported_user(user)?;
            Ok(((), vec![Op::PutUser(user.clone())]))
        })
        .await
    }

    async fn get(&self, id: &UserId) -> Result<Option<User>, RepositoryError> {
        Ok(self.read().tables.user(id).cloned())
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError> {
        Ok(self.read().tables.user_by_email(email).cloned())
    }

    async fn list(&self) -> Result<Vec<User>, RepositoryError> {
        Ok(self.read().tables.users().cloned().collect())
    }

    async fn count(&self) -> Result<u64, RepositoryError> {
        Ok(self.read().tables.users().len() as u64)
    }

    async fn update(&self, user: &User) -> Result<bool, RepositoryError> {
        self.change(|t| {
            let Some(current) = t.user(&user.id) else {
                return Ok((false, Vec::new()));
            };
            // An update that changes nothing need not be written.
            if current == user {
                return Ok((true, Vec::new()));
            }
            if !t.may_take_email(user) {
                return Err(RepositoryError::DuplicateEmail);
            }
            Ok((true, vec![Op::PutUser(user.clone())]))
        })
        .await
    }

    async fn update_names(
        &self,
        id: &UserId,
        names: &NameChange,
        at: DateTime<Utc>,
    ) -> Result<Option<User>, RepositoryError> {
        // Decided from the tables as they are when the change is made, so a
        // password changed meanwhile is kept.
        self.change(|t| match t.renamed(id, names, at) {
            Some(renamed) => Ok((Some(renamed.clone()), vec![Op::PutUser(renamed)])),
            None => Ok((None, Vec::new())),
        })
        .await
    }

    async fn replace_password_hash(
        &self,
        id: &UserId,
        expected: &PasswordHash,
        new: &PasswordHash,
        at: Option<DateTime<Utc>>,
    ) -> Result<bool, RepositoryError> {
        self.change(|t| match t.with_password_hash(id, expected, new, at) {
            Some(changed) => Ok((true, vec![Op::PutUser(changed)])),
            None => Ok((false, Vec::new())),
        })
        .await
    }

    async fn set_admin(
        &self,
        id: &UserId,
        is_admin: bool,
        at: DateTime<Utc>,
    ) -> Result<Option<User>, RepositoryError> {
        // Decided under the tables' write lock: two revocations cannot
        // both see the other administrator.
        self.change(|t| match t.with_admin(id, is_admin, at)? {
            Some(user) if t.user(id) != Some(&user) => {
                Ok((Some(user.clone()), vec![Op::PutUser(user)]))
            }
            unchanged => Ok((unchanged, Vec::new())),
        })
        .await
    }

    async fn delete(&self, id: &UserId) -> Result<bool, RepositoryError> {
        self.change(|t| {
            if t.user(id).is_none() {
                return Ok((false, Vec::new()));
            }
            Ok((true, vec![Op::DeleteUser(*id)]))
        })
        .await
    }
}

#[async_trait]
impl SessionRepository for FileStore {
    async fn insert(&self, session: &Session) -> Result<(), RepositoryError> {
        self.change(|_| Ok(((), vec![Op::PutSession(session.clone())])))
            .await
    }

    async fn find(&self, key: &SessionKey) -> Result<Option<Session>, RepositoryError> {
        Ok(self.read().tables.session(key))
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, RepositoryError> {
        self.change(|t| {
            if t.session(key).is_none() {
                return Ok((false, Vec::new()));
            }
            Ok((true, vec![Op::DeleteSession(key.clone())]))
        })
        .await
    }

    async fn touch(&self, key: &SessionKey, at: DateTime<Utc>) -> Result<bool, RepositoryError> {
        self.change(|t| {
            if t.session(key).is_none() {
                return Ok((false, Vec::new()));
            }
            Ok((true, vec![Op::TouchSession(key.clone(), at)]))
        })
        .await
    }

    async fn list_by_user(&self, user_id: &UserId) -> Result<Vec<Session>, RepositoryError> {
        Ok(self.read().tables.sessions_of(user_id))
    }

    async fn delete_by_user(
        &self,
        user_id: &UserId,
        except: Option<&SessionKey>,
    ) -> Result<u64, RepositoryError> {
        self.change(|t| {
            let ops: Vec<Op> = t
                .sessions_of(user_id)
                .into_iter()
                .filter(|s| Some(&s.key) != except)
                .map(|s| Op::DeleteSession(s.key))
                .collect();
            Ok((ops.len() as u64, ops))
        })
        .await
    }

    async fn delete_expired(
        &self,
        created_before: Option<DateTime<Utc>>,
        last_used_before: Option<DateTime<Utc>>,
    ) -> Result<u64, RepositoryError> {
        self.change(|t| {
            let ops: Vec<Op> = t
                .expired_session_keys(created_before, last_used_before)
                .into_iter()
                .map(Op::DeleteSession)
                .collect();
            Ok((ops.len() as u64, ops))
        })
        .await
    }

    async fn count_live(
        &self,
        created_before: Option<DateTime<Utc>>,
        last_used_before: Option<DateTime<Utc>>,
    ) -> Result<Option<u64>, RepositoryError> {
        Ok(Some(
            self.read()
                .tables
                .count_live_sessions(created_before, last_used_before),
        ))
    }
}
