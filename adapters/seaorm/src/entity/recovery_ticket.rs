//! A row of `recovery_tickets`.

use sea_orm::entity::prelude::*;

/// A password-reset ticket as stored: keyed by the digest of its token.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recovery_tickets")]
pub struct Model {
    /// SHA-256 of the token, lowercase hex.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_digest: String,
    /// Whose account it opens.
    pub user_id: Uuid,
    /// What it is for (`password_reset`).
    pub purpose: String,
    /// When it was issued.
    pub created_at: DateTimeUtc,
    /// When it stops working.
    pub expires_at: DateTimeUtc,
}

/// `recovery_tickets` belongs to `users`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The ticket's user.
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
