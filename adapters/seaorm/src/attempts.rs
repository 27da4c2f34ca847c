//! [`AttemptLog`] over SQL: the failed logins, shared by every instance
//! on the database.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use domain::{AccountKey, AttemptLog, FailedAttempt, FailureWindow, RepositoryError};

use crate::entity::login_failure;
use crate::errors::{classify, corrupt};
use crate::store::SqlStore;

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
