//! A row of `sessions`.

use sea_orm::entity::prelude::*;

/// A session as stored: keyed by the digest of its token.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    /// SHA-256 of the token, lowercase hex.
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_digest: String,
    /// Non-secret handle.
    #[sea_orm(unique)]
    pub id: Uuid,
    /// Whose session.
    pub user_id: Uuid,
    /// Login time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// Last request the session authenticated; null for rows from before
    /// activity was recorded, which read as `created_at`.
    pub last_used_at: Option<DateTimeUtc>,
    /// The client address that logged in.
    pub client_address: Option<String>,
    /// The `User-Agent` that logged in.
    pub user_agent: Option<String>,
}

/// `sessions` belongs to `users`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The session's user.
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
