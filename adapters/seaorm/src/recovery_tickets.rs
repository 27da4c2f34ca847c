//! [`RecoveryTokenRepository`] over SQL: password-reset tickets in
//! `recovery_tickets`, shared by every instance on the database.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use domain::{
    RecoveryKey, RecoveryPurpose, RecoveryTicket, RecoveryTokenRepository, RepositoryError, UserId,
};

use crate::entity::recovery_ticket;
use crate::errors::{classify, corrupt};
use crate::store::SqlStore;

fn to_ticket(row: recovery_ticket::Model) -> Result<RecoveryTicket, RepositoryError> {
    Ok(RecoveryTicket {
        key: RecoveryKey::parse(&row.key_digest)
            .ok_or_else(|| corrupt("a recovery ticket's key is not a digest"))?,
        user_id: UserId::from(row.user_id),
        purpose: RecoveryPurpose::parse(&row.purpose)
            .ok_or_else(|| corrupt("a recovery ticket has an unknown purpose"))?,
        created_at: row.created_at,
        expires_at: row.expires_at,
    })
}

#[async_trait]
impl RecoveryTokenRepository for SqlStore {
    async fn insert_ticket(&self, ticket: &RecoveryTicket) -> Result<(), RepositoryError> {
        let row = recovery_ticket::ActiveModel {
            key_digest: Set(ticket.key.as_str().to_owned()),
            user_id: Set(ticket.user_id.as_uuid()),
            purpose: Set(ticket.purpose.as_str().to_owned()),
            created_at: Set(ticket.created_at),
            expires_at: Set(ticket.expires_at),
        };
        recovery_ticket::Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(|error| match error.sql_err() {
                // The user was deleted while the ticket was being issued.
                Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => {
                    RepositoryError::NoSuchUser
                }
                _ => classify(error),
            })?;
        Ok(())
    }

    async fn find_ticket(
        &self,
        key: &RecoveryKey,
    ) -> Result<Option<RecoveryTicket>, RepositoryError> {
        recovery_ticket::Entity::find_by_id(key.as_str().to_owned())
            .one(&self.db)
            .await
            .map_err(classify)?
            .map(to_ticket)
            .transpose()
    }

    async fn take_ticket(&self, key: &RecoveryKey) -> Result<bool, RepositoryError> {
        // One DELETE: of two concurrent takes, the database lets one
        // remove the row.
        let result = recovery_ticket::Entity::delete_by_id(key.as_str().to_owned())
            .exec(&self.db)
            .await
            .map_err(classify)?;
        Ok(result.rows_affected == 1)
    }

    async fn delete_tickets_of(
        &self,
        user: &UserId,
        purpose: RecoveryPurpose,
    ) -> Result<u64, RepositoryError> {
        let result = recovery_ticket::Entity::delete_many()
            .filter(recovery_ticket::Column::UserId.eq(user.as_uuid()))
            .filter(recovery_ticket::Column::Purpose.eq(purpose.as_str()))
            .exec(&self.db)
            .await
            .map_err(classify)?;
        Ok(result.rows_affected)
    }

    async fn delete_expired_tickets(&self, now: DateTime<Utc>) -> Result<u64, RepositoryError> {
        let result = recovery_ticket::Entity::delete_many()
            .filter(recovery_ticket::Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await
            .map_err(classify)?;
        Ok(result.rows_affected)
    }
}
