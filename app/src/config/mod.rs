//! Configuration: the Flask API's environment variables plus this
//! service's own, each also a command-line flag. This module only gathers
//! its parts and names what the rest of the app uses:
//! - `settings`: the setting groups and each setting's definition;
//! - `mail`: the mail and password-reset settings, and the outbox they give;
//! - `subset`: the part of those settings an operator command reads;
//! - `cli`: the command tree;
//! - `resolve`: the values the service runs with, from parsed arguments.

mod cli;
mod mail;
mod resolve;
mod settings;
mod subset;
#[cfg(test)]
mod tests;

pub use cli::{
    Cli, Command, ConfigCheckArgs, ConfigCommand, CreateUserArgs, DeleteUserArgs, ImportArgs,
    MigrateArgs, PasswordInput, SessionsCommand, SessionsListArgs, SessionsRevokeArgs,
    SetPasswordArgs, UserCommand, UserRefArgs,
};
pub use mail::{MailArgs, MailTransport, SmtpTls};
pub use settings::{
    LogFormat, LoginErrorsSetting, MAX_DURATION_SECONDS, PasswordPolicy, SecurityProfile,
    ServeArgs, StorageArgs, StorageKind,
};
pub use subset::{SessionSettings, UserSettings};
