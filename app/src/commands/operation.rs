//! What a user or session command does, as a value: an [`Operation`] is
//! carried out over the use cases of the storage it reaches, here or in
//! the server that holds the file storage (sent over its admin socket),
//! with the same code and the same output either way.
//!
//! An operation holds a password in clear for `user create` and `user
//! set-password` (read by the command, hashed by the use case): it has no
//! `Debug`, so it cannot reach a log line.

use domain::UseCases;
use serde::{Deserialize, Serialize};

use crate::commands::{CommandError, sessions, users};

/// One user or session command, as the CLI asks it of the storage.
#[derive(Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case", deny_unknown_fields)]
pub enum Operation {
    /// `user create`.
    CreateUser {
        /// The new user's email.
        email: String,
        /// Given name.
        first_name: Option<String>,
        /// Family name.
        last_name: Option<String>,
        /// Make them an administrator.
        admin: bool,
        /// The password, as typed.
        password: String,
    },
    /// `user list`.
    ListUsers,
    /// `user show`.
    ShowUser {
        /// An email or an id.
        user: String,
    },
    /// `user delete`.
    DeleteUser {
        /// An email or an id.
        user: String,
    },
    /// `user set-password`.
    SetPassword {
        /// An email or an id.
        user: String,
        /// The new password, as typed.
        password: String,
    },
    /// `user grant-admin` (`grant`) and `user revoke-admin`.
    SetAdmin {
        /// An email or an id.
        user: String,
        /// Grant (true) or revoke (false).
        grant: bool,
    },
    /// `sessions list`.
    ListSessions {
        /// Only this user's (an email or an id).
        user: Option<String>,
    },
    /// `sessions revoke --user`: every session of a user.
    RevokeSessions {
        /// An email or an id.
        user: String,
    },
    /// `sessions revoke --handle`: one session.
    RevokeSession {
        /// The handle `sessions list` prints.
        handle: String,
        /// Its user (an email or an id), when the operator named them.
        user: Option<String>,
    },
    /// `sessions prune`.
    PruneSessions,
}

impl Operation {
    /// What the command is called, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::CreateUser { .. } => "user create",
            Self::ListUsers => "user list",
            Self::ShowUser { .. } => "user show",
            Self::DeleteUser { .. } => "user delete",
            Self::SetPassword { .. } => "user set-password",
            Self::SetAdmin { grant: true, .. } => "user grant-admin",
            Self::SetAdmin { grant: false, .. } => "user revoke-admin",
            Self::ListSessions { .. } => "sessions list",
            Self::RevokeSessions { .. } | Self::RevokeSession { .. } => "sessions revoke",
            Self::PruneSessions => "sessions prune",
        }
    }

    /// Whether it may change the storage (a read is not worth a
    /// compaction of the file storage afterwards).
    pub fn changes(&self) -> bool {
        !matches!(
            self,
            Self::ListUsers | Self::ShowUser { .. } | Self::ListSessions { .. }
        )
    }

    /// Carries it out as the operator over `use_cases`; what to print.
    ///
    /// # Errors
    /// [`CommandError`] saying what was wrong.
    pub async fn perform(self, use_cases: &UseCases) -> Result<String, CommandError> {
        match self {
            Self::CreateUser {
                email,
                first_name,
                last_name,
                admin,
                password,
            } => {
                users::create(
                    use_cases,
                    users::NewAccount {
                        email,
                        first_name,
                        last_name,
                        admin,
                        password,
                    },
                )
                .await
            }
            Self::ListUsers => users::list(use_cases).await,
            Self::ShowUser { user } => users::show(use_cases, &user).await,
            Self::DeleteUser { user } => users::delete(use_cases, &user).await,
            Self::SetPassword { user, password } => {
                users::reset_password(use_cases, &user, password).await
            }
            Self::SetAdmin { user, grant } => users::change_admin(use_cases, &user, grant).await,
            Self::ListSessions { user } => sessions::list(use_cases, user.as_deref()).await,
            Self::RevokeSessions { user } => sessions::revoke_all(use_cases, &user).await,
            Self::RevokeSession { handle, user } => {
                sessions::revoke_one(use_cases, &handle, user.as_deref()).await
            }
            Self::PruneSessions => sessions::prune(use_cases).await,
        }
    }
}
