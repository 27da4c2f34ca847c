//! Bulk import (`insert_new_batch` of both repositories): many records in
//! one transaction, a few statements per chunk; record by record when
//! another writer raced the batch.

use std::collections::HashSet;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};
use uuid::Uuid;

use domain::{
    RepositoryError, Session, SessionBatchOutcome, SessionRepository, User, UserBatchOutcome,
    UserRepository,
};

use crate::entity::{session, user};
use crate::rows::{session_columns, user_columns};
use crate::store::SqlStore;

/// Records of a batched insert handled by one set of statements (a call is
/// one transaction, however many records it brings). The look-ups are `IN`
/// lists of this many keys: small enough next to a table of tens of
/// thousands of rows that PostgreSQL answers them through the index (with
/// 1,000 keys against 50,000 rows it rightly prefers a scan), and large
/// enough that a statement's round trip is shared by many records.
const BATCH_CHUNK: usize = 250;

impl SqlStore {
    /// A batch of users in one transaction: per chunk, two indexed `IN`
    /// look-ups (ids present, emails taken) and one multi-row `INSERT`.
    pub(crate) async fn insert_new_users_at_once(
        &self,
        users: &[User],
    ) -> Result<Vec<UserBatchOutcome>, sea_orm::DbErr> {
        let txn = self.db.begin().await?;
        let mut outcomes = Vec::with_capacity(users.len());
        for chunk in users.chunks(BATCH_CHUNK) {
            outcomes.extend(Self::insert_new_users_chunk(&txn, chunk).await?);
        }
        txn.commit().await?;
        Ok(outcomes)
    }

    async fn insert_new_users_chunk(
        txn: &sea_orm::DatabaseTransaction,
        users: &[User],
    ) -> Result<Vec<UserBatchOutcome>, sea_orm::DbErr> {
        let present: HashSet<Uuid> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::Id.is_in(users.iter().map(|u| u.id.as_uuid())))
            .into_tuple::<Uuid>()
            .all(txn)
            .await?
            .into_iter()
            .collect();
        let candidates: Vec<String> = users
            .iter()
            .filter(|u| !present.contains(&u.id.as_uuid()))
            .map(|u| u.email.as_str().to_owned())
            .collect();
        // An empty `IN ()` is spelt as a false comparison that SQLite
        // answers by walking an index: ask nothing instead.
        let taken: HashSet<String> = if candidates.is_empty() {
            HashSet::new()
        } else {
            user::Entity::find()
                .select_only()
                .column(user::Column::Email)
                .filter(user::Column::Email.is_in(candidates))
                .into_tuple::<String>()
                .all(txn)
                .await?
                .into_iter()
                .collect()
        };
        // Earlier records of the batch count as stored for later ones, as
        // they would one by one.
        let mut new_ids = HashSet::new();
        let mut new_emails = HashSet::new();
        let mut rows = Vec::new();
        let outcomes = users
            .iter()
            .map(|u| {
                if present.contains(&u.id.as_uuid()) || new_ids.contains(&u.id.as_uuid()) {
                    UserBatchOutcome::AlreadyPresent
                } else if taken.contains(u.email.as_str()) || new_emails.contains(u.email.as_str())
                {
                    UserBatchOutcome::DuplicateEmail
                } else {
                    new_ids.insert(u.id.as_uuid());
                    new_emails.insert(u.email.as_str());
                    rows.push(user_columns(u));
                    UserBatchOutcome::Inserted
                }
            })
            .collect();
        user::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
        Ok(outcomes)
    }

    /// The per-record path of a batch, for when another writer raced it.
    pub(crate) async fn insert_new_users_one_by_one(
        &self,
        users: &[User],
    ) -> Result<Vec<UserBatchOutcome>, RepositoryError> {
        let mut outcomes = Vec::with_capacity(users.len());
        for user in users {
            if UserRepository::get(self, &user.id).await?.is_some() {
                outcomes.push(UserBatchOutcome::AlreadyPresent);
                continue;
            }
            outcomes.push(match UserRepository::insert_imported(self, user).await {
                Ok(()) => UserBatchOutcome::Inserted,
                Err(RepositoryError::DuplicateEmail) => UserBatchOutcome::DuplicateEmail,
                Err(other) => return Err(other),
            });
        }
        Ok(outcomes)
    }

    /// A batch of sessions in one transaction: per chunk, two indexed
    /// `IN` look-ups (keys present, users existing) and one multi-row
    /// `INSERT`.
    pub(crate) async fn insert_new_sessions_at_once(
        &self,
        sessions: &[Session],
    ) -> Result<Vec<SessionBatchOutcome>, sea_orm::DbErr> {
        let txn = self.db.begin().await?;
        let mut outcomes = Vec::with_capacity(sessions.len());
        for chunk in sessions.chunks(BATCH_CHUNK) {
            outcomes.extend(Self::insert_new_sessions_chunk(&txn, chunk).await?);
        }
        txn.commit().await?;
        Ok(outcomes)
    }

    async fn insert_new_sessions_chunk(
        txn: &sea_orm::DatabaseTransaction,
        sessions: &[Session],
    ) -> Result<Vec<SessionBatchOutcome>, sea_orm::DbErr> {
        let present: HashSet<String> = session::Entity::find()
            .select_only()
            .column(session::Column::TokenDigest)
            .filter(
                session::Column::TokenDigest
                    .is_in(sessions.iter().map(|s| s.key.as_str().to_owned())),
            )
            .into_tuple::<String>()
            .all(txn)
            .await?
            .into_iter()
            .collect();
        let wanted: HashSet<Uuid> = sessions.iter().map(|s| s.user_id.as_uuid()).collect();
        let users: HashSet<Uuid> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::Id.is_in(wanted))
            .into_tuple::<Uuid>()
            .all(txn)
            .await?
            .into_iter()
            .collect();
        let mut new_keys = HashSet::new();
        let mut rows = Vec::new();
        let outcomes = sessions
            .iter()
            .map(|s| {
                if present.contains(s.key.as_str()) || new_keys.contains(s.key.as_str()) {
                    SessionBatchOutcome::AlreadyPresent
                } else if !users.contains(&s.user_id.as_uuid()) {
                    SessionBatchOutcome::UserMissing
                } else {
                    new_keys.insert(s.key.as_str());
                    rows.push(session_columns(s));
                    SessionBatchOutcome::Inserted
                }
            })
            .collect();
        session::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
        Ok(outcomes)
    }

    /// The per-record path of a batch, for when another writer raced it.
    pub(crate) async fn insert_new_sessions_one_by_one(
        &self,
        sessions: &[Session],
    ) -> Result<Vec<SessionBatchOutcome>, RepositoryError> {
        let mut outcomes = Vec::with_capacity(sessions.len());
        for session in sessions {
            if SessionRepository::find(self, &session.key).await?.is_some() {
                outcomes.push(SessionBatchOutcome::AlreadyPresent);
            } else if UserRepository::get(self, &session.user_id).await?.is_none() {
                outcomes.push(SessionBatchOutcome::UserMissing);
            } else {
                SessionRepository::insert(self, session).await?;
                outcomes.push(SessionBatchOutcome::Inserted);
            }
        }
        Ok(outcomes)
    }
}
