//! A row of `login_failures`.

use sea_orm::entity::prelude::*;

/// One failed password check, as the throttle counts it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_failures")]
pub struct Model {
    /// Insertion order; failures have no identity of their own.
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// SHA-256 of the email as typed, lowercase hex.
    pub account: String,
    /// The client address.
    pub address: String,
    /// When the check failed.
    pub at: DateTimeUtc,
}

/// `login_failures` stands alone: an account key need not name a user.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
