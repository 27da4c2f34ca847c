//! The operator commands: the command line's front door to the same use
//! cases the API reaches, as an operator ([`Actor::operator`]), so every
//! change they make is checked by the same rules and audited the same way.
//! This module holds what they share: their error, how they open the
//! storage and name a user.
//!
//! With file storage a running server holds the data folder's lock: the
//! commands then refuse with a message saying to stop the server or to
//! make the change through the API, and change nothing.

pub mod config_check;
pub mod maintenance;
pub mod prompt;
pub mod sessions;
pub mod users;

use domain::{Actor, AuthType, CreateUserError, UseCases, User};

use crate::config::{ServeArgs, StorageArgs};
use crate::import::ImportError;
use crate::storage::{StartError, Storage, open_storage};
use crate::wiring::{Infrastructure, Settings, use_cases};

/// Why an operator command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The storage could not be opened.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The user could not be created.
    #[error("cannot create the user: {0}")]
    CreateUser(#[from] CreateUserError),
    /// The command needs a SQL storage.
    #[error(
        "`session-auth migrate` needs STORAGE=postgres or STORAGE=sqlite (memory and file storage have no schema)"
    )]
    NotSql,
    /// A migration failed.
    #[error(transparent)]
    Schema(#[from] adapter_seaorm::SchemaError),
    /// The import stopped.
    #[error("import failed: {0}")]
    Import(#[from] ImportError),
    /// The storage failed.
    #[error("storage failure")]
    Storage(#[from] domain::Failure),
    /// A server holds the file storage's lock.
    #[error(
        "{0}. While a server runs on this folder, stop the server first, or make the change through its API (POST /api/v1/users, DELETE /api/v1/users/<id>, PUT /api/v1/users/me/password, DELETE /api/v1/auth_session/sessions)"
    )]
    InUse(String),
    /// No user has this email or id.
    #[error("no user has the email or id {0:?}")]
    NoSuchUser(String),
    /// The user has no such session (any more).
    #[error("no such session")]
    NoSuchSession,
    /// The password could not be read.
    #[error("password: {0}")]
    Password(String),
    /// The password could not be set.
    #[error("cannot set the password: {0}")]
    SetPassword(#[from] domain::SetPasswordError),
    /// The administrator right could not be granted or revoked.
    #[error("cannot change the administrator right: {0}")]
    SetAdmin(#[from] domain::SetAdminError),
    /// `config check` found a problem.
    #[error("{0}")]
    Config(String),
    /// The output could not be written.
    #[error("cannot write the output: {0}")]
    Output(String),
    /// `--from` names no readable folder.
    #[error("import: {0}")]
    ImportSource(String),
}

impl From<domain::SessionError> for CommandError {
    fn from(error: domain::SessionError) -> Self {
        match error {
            domain::SessionError::Failure(failure) => Self::Storage(failure),
            // An operator may see every user's sessions: what was not found
            // is the session itself.
            domain::SessionError::NotFound => Self::NoSuchSession,
        }
    }
}

/// Opens the storage for an operator command, turning the file storage's
/// lock into advice.
///
/// # Errors
/// [`CommandError::InUse`] when a server holds the data folder, or why the
/// storage could not be opened.
pub async fn open_for_command(args: &StorageArgs) -> Result<Storage, CommandError> {
    match open_storage(args).await {
        Ok(storage) => Ok(storage),
        Err(StartError::File(locked @ adapter_file::OpenError::Locked { .. })) => {
            Err(CommandError::InUse(locked.to_string()))
        }
        Err(error) => Err(error.into()),
    }
}

/// The use cases an operator command reaches: sessions in the storage
/// (those of `session_db_auth`, the one policy whose sessions outlive a
/// server).
fn operator_use_cases(settings: &ServeArgs, storage: &Storage) -> UseCases {
    let settings = Settings {
        auth_type: AuthType::SessionDbAuth,
        ..settings.settings()
    };
    use_cases(&settings, storage, &Infrastructure::real()).0
}

/// Runs a command that changes the storage, then closes the storage
/// whatever the outcome, so a file store leaves plain Flask files behind
/// (its journal compacted) as the server does at shutdown.
async fn changing<T, Fut>(
    storage: Storage,
    command: impl FnOnce(Storage) -> Fut,
) -> Result<T, CommandError>
where
    Fut: std::future::Future<Output = Result<T, CommandError>>,
{
    let outcome = command(storage.clone()).await;
    storage.close().await;
    outcome
}

/// The user an operator names by email or id.
async fn find_user(use_cases: &UseCases, key: &str) -> Result<User, CommandError> {
    use_cases
        .users
        .find_user(&Actor::operator(), key)
        .await?
        .ok_or_else(|| CommandError::NoSuchUser(key.to_owned()))
}

/// A timestamp as the commands print it.
fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S").to_string()
}
