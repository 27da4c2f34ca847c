//! Storage in SQL through SeaORM: PostgreSQL for production and for several
//! instances sharing state, SQLite as an embedded option. The schema lives
//! in the `migration` crate.
//!
//! Database errors never cross into the domain as text: a unique violation
//! becomes [`RepositoryError::DuplicateEmail`], a lost connection
//! [`RepositoryError::Unavailable`] (503), anything else
//! [`RepositoryError::Unexpected`] with the `DbErr` kept as its source for
//! the log.

mod cache;
mod direct;
pub mod entity;
mod errors;
mod schema;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, OnConflict};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RuntimeErr, Statement,
    TransactionTrait, Value,
};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

use domain::{
    AccountKey, AttemptLog, Email, FailedAttempt, FailureWindow, NameChange, PasswordHash,
    RepositoryError, Session, SessionBatchOutcome, SessionKey, SessionRepository, User,
    UserBatchOutcome, UserId, UserRepository,
};

use crate::cache::{Change, Lookup, SessionCache};
use crate::direct::Direct;
use crate::entity::{login_failure, session, user};
use crate::errors::{classify, corrupt, is_unique_violation};

pub use errors::ConnectError;

/// How long a connection may sit idle before it is checked at its next use.
pub(crate) const IDLE_BEFORE_PING: Duration = Duration::from_secs(30);
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
    /// How long one statement may run (PostgreSQL `statement_timeout`;
    /// SQLite's busy timeout) before it is abandoned and answered 503, so
    /// a blocked statement frees its connection.
    pub statement_timeout: Duration,
    /// Most sessions the server keeps in memory on PostgreSQL, kept true by
    /// the database's change notifications (`SESSION_CACHE_SIZE`); 0: no
    /// cache. SQLite keeps none whatever this says.
    pub session_cache: usize,
}

impl SqlOptions {
    /// Options with the default pool (10 connections, 5 s acquire timeout,
    /// 5 s statement timeout, no session cache).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 10,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
            session_cache: 0,
        }
    }
}

/// Every storage port over one SQL database: users, sessions, and the
/// failed-login log (shared by every instance on the database).
#[derive(Clone, Debug)]
pub struct SqlStore {
    db: DatabaseConnection,
    /// The per-request session look-up's own connections.
    direct: Arc<Direct>,
    /// Sessions and their users, on PostgreSQL when asked for.
    cache: Option<Arc<SessionCache>>,
    observer: Option<Observer>,
}

/// Who is told of every statement (see [`SqlStore::observe_bound_statements`]).
#[derive(Clone)]
struct Observer(Arc<dyn Fn(&Statement) + Send + Sync>);

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
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
            // sqlx pings every connection it hands out unless told
            // otherwise: a round trip more per statement. Check only
            // connections idle long enough to have been dropped meanwhile
            // (a broken one fails its statement, 503, and is discarded).
            .test_before_acquire_if_idle_for(IDLE_BEFORE_PING)
            // SQLite's default page cache (2 MB a connection) cannot hold
            // the index pages that bulk inserts of random keys (UUIDs,
            // digests) touch, so each transaction wrote them out again and
            // again: 32 MB, allocated only as used.
            .map_sqlx_sqlite_opts(|options| options.pragma("cache_size", "-32768"))
            .sqlx_logging(false);
        let statement_timeout = options.statement_timeout;
        let milliseconds = statement_timeout.as_millis().max(1).to_string();
        connect
            .map_sqlx_postgres_opts(move |pg| {
                pg.options([("statement_timeout", milliseconds.as_str())])
            })
            .map_sqlx_sqlite_opts(move |sqlite| sqlite.busy_timeout(statement_timeout));
        let direct = Direct::new(&options.url, options.pool_size, options.acquire_timeout)
            .map_err(|e| ConnectError {
                url: redact_url(&options.url),
                source: DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))),
            })?;
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
        if db.get_database_backend() == DbBackend::Sqlite {
            // Write-ahead logging: readers (every session-authenticated
            // request) never wait for a writer (a login, a logout, the
            // CLI), and a commit costs one sync instead of several. The
            // mode is kept in the database file, so every process opening
            // it uses it too. Best effort: a database that cannot switch
            // (another process holds it exclusively) works as before.
            if let Err(error) = db.execute_unprepared("PRAGMA journal_mode = WAL").await {
                tracing::warn!(error = %error, "could not switch SQLite to write-ahead logging");
            }
        }
        let cache = (options.session_cache > 0 && db.get_database_backend() == DbBackend::Postgres)
            .then(|| SessionCache::start(&options.url, db.clone(), options.session_cache));
        Ok(Self {
            db,
            direct: Arc::new(direct),
            cache,
            observer: None,
        })
    }

    /// Forgets what `change` names from this process's session cache.
    fn forget(&self, change: &Change<'_>) {
        if let Some(cache) = &self.cache {
            cache.forget(change);
        }
    }

    /// After a change of `rows` rows committed: this process's cache
    /// forgets what it names, and, on PostgreSQL, the caller is answered
    /// only once every other process's cache has heard of it (the
    /// triggers' notification, confirmed by [`cache::fence`]).
    async fn changed(&self, change: &Change<'_>, rows: u64) {
        self.forget(change);
        if rows > 0 && self.db.get_database_backend() == DbBackend::Postgres {
            cache::fence(&self.db, self.cache.as_deref()).await;
        }
    }

    /// The connection, for migrations and tests.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Calls `observer` with the SQL of every statement this store runs
    /// (for metrics, and for tests that count round trips).
    pub fn observe_statements(&mut self, observer: impl Fn(&str) + Send + Sync + 'static) {
        self.observe_bound_statements(move |statement| observer(&statement.sql));
    }

    /// Calls `observer` with every statement this store runs, with the
    /// values bound to it (so a test can ask the database for the plan of
    /// exactly what the store runs, parameter types included).
    pub fn observe_bound_statements(
        &mut self,
        observer: impl Fn(&Statement) + Send + Sync + 'static,
    ) {
        let observer: Arc<dyn Fn(&Statement) + Send + Sync> = Arc::new(observer);
        let through_orm = Arc::clone(&observer);
        self.db
            .set_metric_callback(move |info| through_orm(info.statement));
        self.observer = Some(Observer(observer));
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
        is_admin: model.is_admin,
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
        is_admin: Set(user.is_admin),
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
        // Rows from before activity was recorded were last used, as far
        // as anyone knows, at their login.
        last_used_at: model.last_used_at.unwrap_or(model.created_at),
        client_address: model.client_address,
        user_agent: model.user_agent,
    })
}

fn session_columns(session: &Session) -> session::ActiveModel {
    session::ActiveModel {
        token_digest: Set(session.key.as_str().to_owned()),
        id: Set(session.id.as_uuid()),
        user_id: Set(session.user_id.as_uuid()),
        created_at: Set(session.created_at),
        updated_at: Set(session.updated_at),
        last_used_at: Set(Some(session.last_used_at)),
        client_address: Set(session.client_address.clone()),
        user_agent: Set(session.user_agent.clone()),
    }
}

/// Records of a batched insert handled by one set of statements (a call is
/// one transaction, however many records it brings). The look-ups are `IN`
/// lists of this many keys: small enough next to a table of tens of
/// thousands of rows that PostgreSQL answers them through the index (with
/// 1,000 keys against 50,000 rows it rightly prefers a scan), and large
/// enough that a statement's round trip is shared by many records.
const BATCH_CHUNK: usize = 250;

/// A failed write of a user: a unique violation is on the email (the
/// constraint or column named in the message says so) or on the id.
fn user_write_error(error: sea_orm::DbErr) -> RepositoryError {
    match error.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(message)) if message.contains("email") => {
            RepositoryError::DuplicateEmail
        }
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => RepositoryError::DuplicateId,
        _ => classify(error),
    }
}

/// A failed insert of a session: a foreign-key violation means its user
/// is gone (deleted while the session was being opened).
fn session_write_error(error: sea_orm::DbErr) -> RepositoryError {
    match error.sql_err() {
        Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => RepositoryError::NoSuchUser,
        _ => classify(error),
    }
}

/// The columns of a `users` row, in the entity's order.
const USER_COLUMNS: &str =
    "seq, id, email, password_hash, first_name, last_name, created_at, updated_at, is_admin";

/// The `n`th (from 1) statement parameter of `backend`.
fn param(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// The statement parameters numbered `numbers`, comma-separated.
fn params(backend: DbBackend, numbers: std::ops::RangeInclusive<usize>) -> String {
    numbers
        .map(|n| param(backend, n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `column = parameter` for each of `columns`, parameters numbered from 1.
fn assignments(backend: DbBackend, columns: &[&str]) -> String {
    columns
        .iter()
        .enumerate()
        .map(|(i, column)| format!("{column} = {}", param(backend, i + 1)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `column`'s email folded to lower case (ASCII letters only, as
/// [`Email::folded`] does) equals `value`: the expression the
/// `users_email_folded` index holds, so the comparison is answered by it.
/// On PostgreSQL under the `C` collation, whose `lower()` folds ASCII only
/// whatever the database's locale; SQLite's `lower()` folds ASCII only.
fn folded_email_equals(backend: DbBackend, column: &str, value: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("lower({column} COLLATE \"C\") = {value}"),
        _ => format!("lower({column}) = {value}"),
    }
}

#[async_trait]
impl UserRepository for SqlStore {
    async fn insert(&self, user: &User) -> Result<(), RepositoryError> {
        // The email is unique ignoring case among new accounts only
        // (imported data may hold emails differing in case, so no unique
        // index can say it): one statement inserts unless the folded
        // email is taken; on PostgreSQL, under a transaction lock on that
        // folded email so two racing creations cannot both pass the
        // check (SQLite runs one writer at a time).
        let backend = self.db.get_database_backend();
        let folded = user.email.folded().into_owned();
        let p = |n| param(backend, n);
        let sql = format!(
            "INSERT INTO users (id, email, password_hash, first_name, last_name, created_at, updated_at, is_admin) \
             SELECT {} WHERE NOT EXISTS (SELECT 1 FROM users WHERE {})",
            params(backend, 1..=8),
            folded_email_equals(backend, "email", &p(9)),
        );
        let values: [Value; 9] = [
            user.id.as_uuid().into(),
            user.email.as_str().into(),
            user.password_hash.as_stored().map(str::to_owned).into(),
            user.first_name.clone().into(),
            user.last_name.clone().into(),
            user.created_at.into(),
            user.updated_at.into(),
            user.is_admin.into(),
            folded.clone().into(),
        ];
        let txn = self.db.begin().await.map_err(classify)?;
        if backend == DbBackend::Postgres {
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                [folded.into()],
            ))
            .await
            .map_err(classify)?;
        }
        let inserted = txn
            .execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
            .map_err(user_write_error)?
            .rows_affected();
        if inserted == 0 {
            txn.rollback().await.map_err(classify)?;
            return Err(match UserRepository::get(self, &user.id).await? {
                Some(_) => RepositoryError::DuplicateId,
                None => RepositoryError::DuplicateEmail,
            });
        }
        txn.commit().await.map_err(classify)?;
        Ok(())
    }

    async fn insert_imported(&self, user: &User) -> Result<(), RepositoryError> {
        // Only the unique constraint: an exactly equal email.
        user::Entity::insert(user_columns(user))
            .exec_without_returning(&self.db)
            .await
            .map_err(user_write_error)?;
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
        // Every user whose email folds alike (one, as a rule; more only
        // from imported data), in creation order; then the rule of
        // `Email::pick`.
        let backend = self.db.get_database_backend();
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE {} ORDER BY seq",
            folded_email_equals(backend, "email", &param(backend, 1))
        );
        let rows = user::Entity::find()
            .from_raw_sql(Statement::from_sql_and_values(
                backend,
                sql,
                [email.folded().into_owned().into()],
            ))
            .all(&self.db)
            .await
            .map_err(classify)?;
        let matching = rows
            .into_iter()
            .map(to_user)
            .collect::<Result<Vec<User>, _>>()?;
        Ok(email.pick(&matching).cloned())
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
        // One statement: the row changes when its email stays as it is or
        // no other user's email folds like the new one.
        let backend = self.db.get_database_backend();
        let p = |n| param(backend, n);
        let sql = format!(
            "UPDATE users SET {} WHERE id = {} AND (email = {} OR NOT EXISTS \
             (SELECT 1 FROM users other WHERE {} AND other.id <> {}))",
            assignments(
                backend,
                &[
                    "email",
                    "password_hash",
                    "first_name",
                    "last_name",
                    "updated_at",
                    "is_admin"
                ],
            ),
            p(7),
            p(8),
            folded_email_equals(backend, "other.email", &p(9)),
            p(10),
        );
        // In the order the parameters appear (SQLite's `?` are positional).
        let values: [Value; 10] = [
            user.email.as_str().into(),
            user.password_hash.as_stored().map(str::to_owned).into(),
            user.first_name.clone().into(),
            user.last_name.clone().into(),
            user.updated_at.into(),
            user.is_admin.into(),
            user.id.as_uuid().into(),
            user.email.as_str().into(),
            user.email.folded().into_owned().into(),
            user.id.as_uuid().into(),
        ];
        let updated = self
            .db
            .execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
            .map_err(user_write_error)?
            .rows_affected();
        self.changed(&Change::User(user.id.as_uuid()), updated)
            .await;
        if updated > 0 {
            return Ok(true);
        }
        match UserRepository::get(self, &user.id).await? {
            Some(_) => Err(RepositoryError::DuplicateEmail),
            None => Ok(false),
        }
    }

    async fn update_names(
        &self,
        id: &UserId,
        names: &NameChange,
        at: DateTime<Utc>,
    ) -> Result<Option<User>, RepositoryError> {
        // One statement that sets only the names given: a concurrent change
        // of the password hash is never overwritten from a stale read.
        let mut update = user::Entity::update_many()
            .col_expr(user::Column::UpdatedAt, Expr::value(at))
            .filter(user::Column::Id.eq(id.as_uuid()));
        if let Some(first_name) = &names.first_name {
            update = update.col_expr(user::Column::FirstName, Expr::value(first_name.clone()));
        }
        if let Some(last_name) = &names.last_name {
            update = update.col_expr(user::Column::LastName, Expr::value(last_name.clone()));
        }
        let result = update.exec(&self.db).await.map_err(classify)?;
        self.changed(&Change::User(id.as_uuid()), result.rows_affected)
            .await;
        if result.rows_affected == 0 {
            return Ok(None);
        }
        self.get(id).await
    }

    async fn replace_password_hash(
        &self,
        id: &UserId,
        expected: &PasswordHash,
        new: &PasswordHash,
        at: Option<DateTime<Utc>>,
    ) -> Result<bool, RepositoryError> {
        let mut update = user::Entity::update_many()
            .col_expr(
                user::Column::PasswordHash,
                Expr::value(new.as_stored().map(str::to_owned)),
            )
            .filter(user::Column::Id.eq(id.as_uuid()));
        // Compare-and-set: only over the hash the caller verified.
        update = match expected.as_stored() {
            Some(stored) => update.filter(user::Column::PasswordHash.eq(stored)),
            None => update.filter(user::Column::PasswordHash.is_null()),
        };
        if let Some(at) = at {
            update = update.col_expr(user::Column::UpdatedAt, Expr::value(at));
        }
        let result = update.exec(&self.db).await.map_err(classify)?;
        self.changed(&Change::User(id.as_uuid()), result.rows_affected)
            .await;
        Ok(result.rows_affected > 0)
    }

    async fn set_admin(
        &self,
        id: &UserId,
        is_admin: bool,
        at: DateTime<Utc>,
    ) -> Result<Option<User>, RepositoryError> {
        let txn = self.db.begin().await.map_err(classify)?;
        let backend = txn.get_database_backend();
        let mut update = user::Entity::update_many()
            .col_expr(user::Column::IsAdmin, Expr::value(is_admin))
            .col_expr(user::Column::UpdatedAt, Expr::value(at))
            .filter(user::Column::Id.eq(id.as_uuid()))
            .filter(user::Column::IsAdmin.eq(!is_admin));
        if !is_admin {
            if backend == DbBackend::Postgres {
                // Revocations queue here, one at a time: the second of two
                // revoking the last two administrators waits, then sees
                // the first's commit (each statement reads anew under READ
                // COMMITTED). SQLite runs one writer at a time anyway.
                txn.execute_unprepared("SELECT 1 FROM users WHERE is_admin FOR UPDATE")
                    .await
                    .map_err(classify)?;
            }
            // Only while another administrator remains.
            use sea_orm::sea_query::{Alias, ExprTrait, Query};
            let other = Alias::new("other");
            update = update.filter(Expr::exists(
                Query::select()
                    .expr(Expr::value(1))
                    .from_as(user::Entity, other.clone())
                    .and_where(Expr::col((other.clone(), user::Column::IsAdmin)).eq(true))
                    .and_where(Expr::col((other, user::Column::Id)).ne(id.as_uuid()))
                    .to_owned(),
            ));
        }
        let result = update.exec(&txn).await.map_err(classify)?;
        let found = user::Entity::find()
            .filter(user::Column::Id.eq(id.as_uuid()))
            .one(&txn)
            .await
            .map_err(classify)?;
        txn.commit().await.map_err(classify)?;
        self.changed(&Change::User(id.as_uuid()), result.rows_affected)
            .await;
        let Some(found) = found else {
            return Ok(None);
        };
        if result.rows_affected == 0 && found.is_admin != is_admin {
            return Err(RepositoryError::LastAdmin);
        }
        to_user(found).map(Some)
    }

    async fn delete(&self, id: &UserId) -> Result<bool, RepositoryError> {
        // The foreign key's ON DELETE CASCADE removes the user's sessions in
        // the same statement.
        let result = user::Entity::delete_many()
            .filter(user::Column::Id.eq(id.as_uuid()))
            .exec(&self.db)
            .await
            .map_err(classify)?;
        self.changed(&Change::User(id.as_uuid()), result.rows_affected)
            .await;
        Ok(result.rows_affected > 0)
    }

    async fn insert_new_batch(
        &self,
        users: &[User],
    ) -> Result<Vec<UserBatchOutcome>, RepositoryError> {
        match self.insert_new_users_at_once(users).await {
            Err(error) if is_unique_violation(&error) => {
                // Another writer stored one of these ids or emails between
                // our check and our insert (the transaction rolled back):
                // decide record by record instead.
                self.insert_new_users_one_by_one(users).await
            }
            other => other.map_err(classify),
        }
    }
}

impl SqlStore {
    /// A batch of users in one transaction: per chunk, two indexed `IN`
    /// look-ups (ids present, emails taken) and one multi-row `INSERT`.
    async fn insert_new_users_at_once(
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
    async fn insert_new_users_one_by_one(
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
    async fn insert_new_sessions_at_once(
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
    async fn insert_new_sessions_one_by_one(
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
        self.changed(&Change::Session(key.as_str()), result.rows_affected)
            .await;
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
        self.changed(&Change::Session(key.as_str()), result.rows_affected)
            .await;
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
        self.changed(&Change::User(user_id.as_uuid()), result.rows_affected)
            .await;
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
        let result = session::Entity::delete_many()
            .filter(dead)
            .exec(&self.db)
            .await
            .map_err(classify)?;
        self.changed(&Change::Everything, result.rows_affected)
            .await;
        Ok(result.rows_affected)
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

/// The aggregate row of [`AttemptLog::failures`].
type WindowRow = (i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

#[async_trait]
impl AttemptLog for SqlStore {
    async fn record_failure(&self, attempt: &FailedAttempt) -> Result<(), RepositoryError> {
        let row = login_failure::ActiveModel {
            seq: NotSet,
            account: Set(attempt.account.as_str().to_owned()),
            address: Set(attempt.address.clone()),
            at: Set(attempt.at),
        };
        login_failure::Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn failures(
        &self,
        account: Option<&AccountKey>,
        address: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<FailureWindow, RepositoryError> {
        // One aggregate query; the filters given pick the index:
        // (account, at), (address, at) or (account, address, at).
        let mut query = login_failure::Entity::find()
            .select_only()
            .column_as(Expr::cust("COUNT(*)"), "count")
            .column_as(login_failure::Column::At.min(), "oldest")
            .column_as(login_failure::Column::At.max(), "latest")
            .filter(login_failure::Column::At.gt(since));
        if let Some(account) = account {
            query = query.filter(login_failure::Column::Account.eq(account.as_str()));
        }
        if let Some(address) = address {
            query = query.filter(login_failure::Column::Address.eq(address));
        }
        let row: Option<WindowRow> = query.into_tuple().one(&self.db).await.map_err(classify)?;
        // An aggregate without GROUP BY always yields one row; none would
        // mean no failures all the same.
        let Some((count, oldest, latest)) = row else {
            return Ok(FailureWindow::default());
        };
        let count = u64::try_from(count)
            .map_err(|_| corrupt("the database counted a negative number of failures"))?;
        Ok(FailureWindow {
            count,
            oldest,
            latest,
        })
    }

    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, RepositoryError> {
        let result = login_failure::Entity::delete_many()
            .filter(login_failure::Column::At.lt(before))
            .exec(&self.db)
            .await
            .map_err(classify)?;
        Ok(result.rows_affected)
    }
}
