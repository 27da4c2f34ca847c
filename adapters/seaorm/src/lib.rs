//! Storage in SQL through SeaORM: PostgreSQL for production and for several
//! instances sharing state, SQLite as an embedded option. The schema lives
//! in the `migration` crate.
//!
//! Database errors never cross into the domain as text: a unique violation
//! becomes [`RepositoryError::DuplicateEmail`], a lost connection
//! [`RepositoryError::Unavailable`] (503), anything else
//! [`RepositoryError::Unexpected`] with the `DbErr` kept as its source for
//! the log.

pub mod entity;
mod errors;
mod schema;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectOptions, Database, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use std::time::Duration;

use domain::{
    Email, PasswordHash, RepositoryError, Session, SessionKey, SessionRepository, User, UserId,
    UserRepository,
};

use crate::entity::{session, user};
use crate::errors::{classify, corrupt, is_unique_violation};

pub use errors::ConnectError;
pub use schema::{SchemaError, SchemaState, redact_url};

/// How to reach the database.
#[derive(Clone, Debug)]
pub struct SqlOptions {
    /// `postgres://…` or `sqlite://path?mode=rwc`.
    pub url: String,
    /// Most connections the pool holds.
    pub pool_size: u32,
    /// How long a request waits for a connection before it is answered 503.
    pub acquire_timeout: Duration,
}

impl SqlOptions {
    /// Options with the default pool (10 connections, 5 s acquire timeout).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Both storage ports over one SQL database.
#[derive(Clone, Debug)]
pub struct SqlStore {
    db: DatabaseConnection,
}

impl SqlStore {
    /// Connects (and checks the connection once).
    ///
    /// # Errors
    /// [`ConnectError`] naming the URL without its password.
    pub async fn connect(options: &SqlOptions) -> Result<Self, ConnectError> {
        let mut connect = ConnectOptions::new(options.url.clone());
        connect
            .max_connections(options.pool_size.max(1))
            .min_connections(0)
            .acquire_timeout(options.acquire_timeout)
            .connect_timeout(options.acquire_timeout)
            .sqlx_logging(false);
        let db = Database::connect(connect)
            .await
            .map_err(|source| ConnectError {
                url: redact_url(&options.url),
                source,
            })?;
        db.ping().await.map_err(|source| ConnectError {
            url: redact_url(&options.url),
            source,
        })?;
        Ok(Self { db })
    }

    /// The connection, for migrations and tests.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Calls `observer` with the SQL of every statement this store runs
    /// (for metrics, and for tests that count round trips).
    pub fn observe_statements(&mut self, observer: impl Fn(&str) + Send + Sync + 'static) {
        self.db
            .set_metric_callback(move |info| observer(&info.statement.sql));
    }
}

fn to_user(model: user::Model) -> Result<User, RepositoryError> {
    let email =
        Email::parse(model.email).ok_or_else(|| corrupt("a user row has an empty email"))?;
    let password_hash = match model.password_hash {
        None => PasswordHash::Unusable,
        Some(text) => PasswordHash::parse(&text)
            .map_err(|_| corrupt("a user row has an unrecognised password hash"))?,
    };
    Ok(User {
        id: UserId::from(model.id),
        email,
        password_hash,
        first_name: model.first_name,
        last_name: model.last_name,
        created_at: model.created_at,
        updated_at: model.updated_at,
    })
}

fn user_columns(user: &User) -> user::ActiveModel {
    user::ActiveModel {
        seq: NotSet,
        id: Set(user.id.as_uuid()),
        email: Set(user.email.as_str().to_owned()),
        password_hash: Set(user.password_hash.as_stored().map(str::to_owned)),
        first_name: Set(user.first_name.clone()),
        last_name: Set(user.last_name.clone()),
        created_at: Set(user.created_at),
        updated_at: Set(user.updated_at),
    }
}

fn to_session(model: session::Model) -> Result<Session, RepositoryError> {
    Ok(Session {
        id: model.id.into(),
        key: SessionKey::parse(&model.token_digest)
            .ok_or_else(|| corrupt("a session row has a malformed key"))?,
        user_id: UserId::from(model.user_id),
        created_at: model.created_at,
        updated_at: model.updated_at,
    })
}

#[async_trait]
impl UserRepository for SqlStore {
    async fn insert(&self, user: &User) -> Result<(), RepositoryError> {
        user::Entity::insert(user_columns(user))
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    RepositoryError::DuplicateEmail
                } else {
                    classify(e)
                }
            })?;
        Ok(())
    }

    async fn get(&self, id: &UserId) -> Result<Option<User>, RepositoryError> {
        let found = user::Entity::find()
            .filter(user::Column::Id.eq(id.as_uuid()))
            .one(&self.db)
            .await
            .map_err(classify)?;
        found.map(to_user).transpose()
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError> {
        let found = user::Entity::find()
            .filter(user::Column::Email.eq(email.as_str()))
            .one(&self.db)
            .await
            .map_err(classify)?;
        found.map(to_user).transpose()
    }

    async fn list(&self) -> Result<Vec<User>, RepositoryError> {
        let rows = user::Entity::find()
            .order_by_asc(user::Column::Seq)
            .all(&self.db)
            .await
            .map_err(classify)?;
        rows.into_iter().map(to_user).collect()
    }

    async fn count(&self) -> Result<u64, RepositoryError> {
        user::Entity::find().count(&self.db).await.map_err(classify)
    }

    async fn update(&self, user: &User) -> Result<bool, RepositoryError> {
        let mut columns = user_columns(user);
        columns.id = NotSet;
        columns.created_at = NotSet;
        let result = user::Entity::update_many()
            .set(columns)
            .filter(user::Column::Id.eq(user.id.as_uuid()))
            .exec(&self.db)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    RepositoryError::DuplicateEmail
                } else {
                    classify(e)
                }
            })?;
        Ok(result.rows_affected > 0)
    }

    async fn delete(&self, id: &UserId) -> Result<bool, RepositoryError> {
        // The foreign key's ON DELETE CASCADE removes the user's sessions in
        // the same statement.
        let result = user::Entity::delete_many()
            .filter(user::Column::Id.eq(id.as_uuid()))
            .exec(&self.db)
            .await
            .map_err(classify)?;
        Ok(result.rows_affected > 0)
    }
}

#[async_trait]
impl SessionRepository for SqlStore {
    async fn insert(&self, session: &Session) -> Result<(), RepositoryError> {
        let row = session::ActiveModel {
            token_digest: Set(session.key.as_str().to_owned()),
            id: Set(session.id.as_uuid()),
            user_id: Set(session.user_id.as_uuid()),
            created_at: Set(session.created_at),
            updated_at: Set(session.updated_at),
        };
        // Storing the same session twice (an import run again) replaces it.
        session::Entity::insert(row)
            .on_conflict(
                OnConflict::column(session::Column::TokenDigest)
                    .update_columns([
                        session::Column::UserId,
                        session::Column::CreatedAt,
                        session::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(classify)?;
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
        // One round trip: the session joined with its user.
        let found = session::Entity::find_by_id(key.as_str().to_owned())
            .find_also_related(user::Entity)
            .one(&self.db)
            .await
            .map_err(classify)?;
        match found {
            None => Ok(None),
            Some((session, user)) => {
                Ok(Some((to_session(session)?, user.map(to_user).transpose()?)))
            }
        }
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, RepositoryError> {
        let result = session::Entity::delete_by_id(key.as_str().to_owned())
            .exec(&self.db)
            .await
            .map_err(classify)?;
        Ok(result.rows_affected > 0)
    }

    async fn delete_by_user(&self, user_id: &UserId) -> Result<u64, RepositoryError> {
        let result = session::Entity::delete_many()
            .filter(session::Column::UserId.eq(user_id.as_uuid()))
            .exec(&self.db)
            .await
            .map_err(classify)?;
        Ok(result.rows_affected)
    }

    async fn delete_created_before(&self, cutoff: DateTime<Utc>) -> Result<u64, RepositoryError> {
        let result = session::Entity::delete_many()
            .filter(session::Column::CreatedAt.lt(cutoff))
            .exec(&self.db)
            .await
            .map_err(classify)?;
        Ok(result.rows_affected)
    }
}
