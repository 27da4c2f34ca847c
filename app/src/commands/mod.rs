//! The operator commands: the command line's front door to the same use
//! cases the API reaches, as an operator ([`Actor::operator`]), so every
//! change they make is checked by the same rules and audited the same way.
//! This module holds what they share: their error, the use cases they
//! reach, and how they name a user.
//!
//! Each user and session command is an [`Operation`] carried out where the
//! data is ([`Route`]): here, over the storage; or, when a server holds
//! the file storage's folder, by that server through its admin socket
//! ([`remote`]), so the CLI works while the server runs.

pub mod config_check;
pub mod maintenance;
pub mod operation;
pub mod prompt;
#[cfg(unix)]
pub mod remote;
pub mod route;
pub mod sessions;
pub mod users;

use domain::{Actor, AuthType, CreateUserError, UseCases, User};

pub use operation::Operation;
pub use route::Route;

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
    /// A server holds the file storage's folder and this command cannot
    /// be carried out by it (`import`): the message says what to do.
    #[error("{0}")]
    InUse(String),
    /// A server holds the file storage's folder but does not answer on its
    /// admin socket.
    #[error(
        "{locked}, and that server did not answer on its admin socket {socket} within ADMIN_SOCKET_TIMEOUT ({cause}). A server of this version answers there once it has loaded the folder; stop the server (or wait for its start to finish) and run the command again"
    )]
    Unanswered {
        /// Who holds the folder.
        locked: String,
        /// The socket tried.
        socket: String,
        /// Why it did not answer.
        cause: String,
    },
    /// The server carrying out the command stopped answering midway.
    #[error(
        "the server on this folder stopped answering ({0}); the change may or may not have been made: check with `session-auth user list` or `session-auth sessions list`"
    )]
    Interrupted(String),
    /// The server that carried out the command refused it: its message.
    #[error("{0}")]
    Remote(String),
    /// No user has this email or id.
    #[error("no user has the email or id {0:?}")]
    NoSuchUser(String),
    /// The user has no such session (any more).
    #[error("no such session")]
    NoSuchSession,
    /// No session has this handle.
    #[error(
        "no live session has the handle {0:?} (handles are the second column of `session-auth sessions list`)"
    )]
    NoSuchHandle(String),
    /// The password could not be read.
    #[error("password: {0}")]
    Password(String),
    /// The password could not be set.
    #[error("cannot set the password: {0}")]
    SetPassword(#[from] domain::SetPasswordError),
    /// The administrator right could not be granted or revoked.
    #[error("cannot change the administrator right: {0}")]
    SetAdmin(#[from] domain::SetAdminError),
    /// The operator did not confirm (or could not be asked).
    #[error("{0}")]
    NotConfirmed(String),
    /// `config check` found a problem.
    #[error("{0}")]
    Config(String),
    /// The output could not be written.
    #[error("cannot write the output: {0}")]
    Output(String),
    /// `--from` names no readable folder, or one with nothing to import.
    #[error("import: {0}")]
    ImportSource(String),
}

impl CommandError {
    /// The message with every cause not already said, one per line, as
    /// the command prints it (and a server sends it back over its admin
    /// socket).
    pub fn describe(&self) -> String {
        use std::error::Error;
        let mut said = self.to_string();
        let mut source = self.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !said.contains(&text) {
                said.push_str("\n  caused by: ");
                said.push_str(&text);
            }
            source = cause.source();
        }
        said
    }
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

/// The use cases an operator command reaches: sessions in the storage
/// (those of `session_db_auth`, the one policy whose sessions outlive a
/// server). A server builds the same over its storage for the commands
/// its admin socket carries out.
pub fn operator_use_cases(settings: &ServeArgs, storage: &Storage) -> UseCases {
    let settings = Settings {
        auth_type: AuthType::SessionDbAuth,
        ..settings.settings()
    };
    use_cases(&settings, storage, &Infrastructure::real()).0
}

/// Opens the storage for a command that needs it itself rather than an
/// [`Operation`] a server could carry out (`import`).
///
/// # Errors
/// [`CommandError::InUse`] when a server holds the file storage's folder
/// (saying to stop it: the user and session commands work while it runs,
/// this one does not), or why the storage could not be opened.
pub async fn open_for_command(args: &StorageArgs) -> Result<Storage, CommandError> {
    match open_storage(args).await {
        Ok(storage) => Ok(storage),
        Err(StartError::File(locked @ adapter_file::OpenError::Locked { .. })) => {
            Err(CommandError::InUse(format!(
                "{locked}. This command needs the folder to itself (the user and sessions commands work while a server runs; this one does not): stop the server, run it, and start the server again"
            )))
        }
        Err(error) => Err(error.into()),
    }
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
