//! A row of `users`.

use sea_orm::entity::prelude::*;

/// A user as stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// Insertion order: the order of GET /users.
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// The user's public id.
    #[sea_orm(unique)]
    pub id: Uuid,
    /// Unique.
    #[sea_orm(unique)]
    pub email: String,
    /// Argon2id PHC string or legacy SHA-256 hex; null when never set.
    pub password_hash: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// Whether the user is an administrator.
    pub is_admin: bool,
}

/// `users` has many `sessions`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The user's sessions.
    #[sea_orm(has_many = "super::session::Entity")]
    Session,
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
