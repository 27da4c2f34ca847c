//! [`UserRepository`] over SQL: accounts, with the email unique ignoring
//! case among new accounts and at least one administrator kept.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    Statement, TransactionTrait, Value,
};

use domain::{
    Email, NameChange, PasswordHash, RepositoryError, User, UserBatchOutcome, UserId,
    UserRepository,
};

use crate::cache::Change;
use crate::entity::user;
use crate::errors::{classify, is_unique_violation};
use crate::rows::{to_user, user_columns};
use crate::sql::{assignments, folded_email_equals, param, params};
use crate::store::SqlStore;

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

/// The columns of a `users` row, in the entity's order.
const USER_COLUMNS: &str =
    "seq, id, email, password_hash, first_name, last_name, created_at, updated_at, is_admin";

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
        self.changed(&Change::User(user.id.as_uuid())).await;
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
        self.changed(&Change::User(id.as_uuid())).await;
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
        self.changed(&Change::User(id.as_uuid())).await;
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
        self.changed(&Change::User(id.as_uuid())).await;
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
        self.changed(&Change::User(id.as_uuid())).await;
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
