//! [`SessionRepository`] over SQL: sessions, the per-request look-up
//! (through the session cache when there is one, else on the look-up's
//! own connections) and expiry.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, OnConflict};
use sea_orm::{
    ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, RuntimeErr,
    Statement, Value,
};

use domain::{
    RepositoryError, Session, SessionBatchOutcome, SessionKey, SessionRepository, User, UserId,
    UserRepository,
};

use crate::cache::{Change, Lookup};
use crate::entity::session;
use crate::errors::{classify, is_unique_violation};
use crate::rows::{session_columns, to_session, to_user};
use crate::store::{Observer, SqlStore};

/// A failed insert of a session: a foreign-key violation means its user
/// is gone (deleted while the session was being opened).
fn session_write_error(error: sea_orm::DbErr) -> RepositoryError {
    match error.sql_err() {
        Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => RepositoryError::NoSuchUser,
        _ => classify(error),
    }
}

#[async_trait]
impl SessionRepository for SqlStore {
    async fn insert(&self, session: &Session) -> Result<(), RepositoryError> {
        // Storing the same session twice (an import run again) replaces it.
        session::Entity::insert(session_columns(session))
            .on_conflict(
                OnConflict::column(session::Column::TokenDigest)
                    .update_columns([
                        session::Column::UserId,
                        session::Column::CreatedAt,
                        session::Column::UpdatedAt,
                        session::Column::LastUsedAt,
                        session::Column::ClientAddress,
                        session::Column::UserAgent,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(session_write_error)?;
        self.forget(&Change::Session(session.key.as_str()));
        Ok(())
    }

    async fn find(&self, key: &SessionKey) -> Result<Option<Session>, RepositoryError> {
        let found = session::Entity::find_by_id(key.as_str().to_owned())
            .one(&self.db)
            .await
            .map_err(classify)?;
        found.map(to_session).transpose()
    }

    async fn find_with_user(
        &self,
        key: &SessionKey,
        _users: &dyn UserRepository,
    ) -> Result<Option<(Session, Option<User>)>, RepositoryError> {
        let epoch = match self.cache.as_ref().map(|c| c.lookup(key.as_str())) {
            Some(Lookup::Hit(session, user)) => return Ok(Some((session, Some(user)))),
            Some(Lookup::Miss(epoch)) => epoch,
            None => None,
        };
        // One round trip: the session joined with its user, as a prepared
        // statement on the look-up's own connections.
        if let Some(Observer(observer)) = &self.observer {
            observer(&Statement::from_sql_and_values(
                self.db.get_database_backend(),
                self.direct.session_with_user_sql(),
                [Value::from(key.as_str().to_owned())],
            ));
        }
        let found = self
            .direct
            .session_with_user(key.as_str())
            .await
            .map_err(|e| classify(DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))))?;
        let Some((session, user)) = found else {
            return Ok(None);
        };
        let (session, user) = (to_session(session)?, user.map(to_user).transpose()?);
        if let (Some(cache), Some(epoch), Some(user)) = (&self.cache, epoch, &user) {
            cache.keep(epoch, key.as_str(), &session, user);
        }
        Ok(Some((session, user)))
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, RepositoryError> {
        let result = session::Entity::delete_by_id(key.as_str().to_owned())
            .exec(&self.db)
            .await
            .map_err(classify)?;
        self.changed(&Change::Session(key.as_str())).await;
        Ok(result.rows_affected > 0)
    }

    async fn touch(&self, key: &SessionKey, at: DateTime<Utc>) -> Result<bool, RepositoryError> {
        // Activity is not a change to the session: `updated_at` stays.
        let result = session::Entity::update_many()
            .col_expr(session::Column::LastUsedAt, Expr::value(Some(at)))
            .filter(session::Column::TokenDigest.eq(key.as_str()))
            .exec(&self.db)
            .await
            .map_err(classify)?;
        // Not a change anyone must wait for: the other caches hear it from
        // its notification, and an idle expiry decided on a stale
        // activity time is checked against the row before it refuses.
        self.forget(&Change::Session(key.as_str()));
        Ok(result.rows_affected > 0)
    }

    async fn list_by_user(&self, user_id: &UserId) -> Result<Vec<Session>, RepositoryError> {
        // The digest breaks ties between logins in the same second, so the
        // order is the same on every backend and every call.
        let rows = session::Entity::find()
            .filter(session::Column::UserId.eq(user_id.as_uuid()))
            .order_by_asc(session::Column::CreatedAt)
            .order_by_asc(session::Column::TokenDigest)
            .all(&self.db)
            .await
            .map_err(classify)?;
        rows.into_iter().map(to_session).collect()
    }

    async fn delete_by_user(
        &self,
        user_id: &UserId,
        except: Option<&SessionKey>,
    ) -> Result<u64, RepositoryError> {
        let mut delete =
            session::Entity::delete_many().filter(session::Column::UserId.eq(user_id.as_uuid()));
        if let Some(kept) = except {
            delete = delete.filter(session::Column::TokenDigest.ne(kept.as_str()));
        }
        let result = delete.exec(&self.db).await.map_err(classify)?;
        self.changed(&Change::User(user_id.as_uuid())).await;
        Ok(result.rows_affected)
    }

    async fn count_live(
        &self,
        created_before: Option<DateTime<Utc>>,
        last_used_before: Option<DateTime<Utc>>,
    ) -> Result<Option<u64>, RepositoryError> {
        // The complement of `delete_expired`'s condition, on the same
        // indexes.
        let mut live = Condition::all();
        if let Some(cutoff) = created_before {
            live = live.add(session::Column::CreatedAt.gte(cutoff));
        }
        if let Some(cutoff) = last_used_before {
            live = live.add(
                Condition::any()
                    .add(session::Column::LastUsedAt.gte(cutoff))
                    .add(
                        Condition::all()
                            .add(session::Column::LastUsedAt.is_null())
                            .add(session::Column::CreatedAt.gte(cutoff)),
                    ),
            );
        }
        let count = session::Entity::find()
            .filter(live)
            .count(&self.db)
            .await
            .map_err(classify)?;
        Ok(Some(count))
    }

    async fn delete_expired(
        &self,
        created_before: Option<DateTime<Utc>>,
        last_used_before: Option<DateTime<Utc>>,
    ) -> Result<u64, RepositoryError> {
        let mut dead = Condition::any();
        if let Some(cutoff) = created_before {
            dead = dead.add(session::Column::CreatedAt.lt(cutoff));
        }
        if let Some(cutoff) = last_used_before {
            // COALESCE(last_used_at, created_at) < cutoff, spelt so that
            // each branch can use an index (`last_used_at`, `created_at`).
            dead = dead.add(session::Column::LastUsedAt.lt(cutoff)).add(
                Condition::all()
                    .add(session::Column::LastUsedAt.is_null())
                    .add(session::Column::CreatedAt.lt(cutoff)),
            );
        }
        if dead.is_empty() {
            // No limit at all: nothing is expired, and no statement needs
            // to say so.
            return Ok(0);
        }
        let delete = session::Entity::delete_many().filter(dead);
        let Some(cache) = &self.cache else {
            let result = delete.exec(&self.db).await.map_err(classify)?;
            self.changed(&Change::Everything).await;
            return Ok(result.rows_affected);
        };
        // This process's cache forgets exactly the sessions swept (the
        // others hear each from its notification, or are emptied by one
        // `*` when a statement swept more than 100).
        let swept = delete
            .exec_with_returning(&self.db)
            .await
            .map_err(classify)?;
        for row in &swept {
            cache.forget(&Change::Session(&row.token_digest));
        }
        self.fence_others().await;
        Ok(u64::try_from(swept.len()).unwrap_or(u64::MAX))
    }

    async fn insert_new_batch(
        &self,
        sessions: &[Session],
        _users: &dyn UserRepository,
    ) -> Result<Vec<SessionBatchOutcome>, RepositoryError> {
        // As with `find_with_user`: under `session_db_auth` the users are
        // this database's, and the foreign key insists on it anyway.
        match self.insert_new_sessions_at_once(sessions).await {
            Err(error) if is_unique_violation(&error) => {
                self.insert_new_sessions_one_by_one(sessions).await
            }
            other => other.map_err(classify),
        }
    }
}
