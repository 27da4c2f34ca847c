//! The command tree: `session-auth`'s subcommands and the arguments each
//! takes, as clap reads them from the command line and the environment.

use clap::{ArgGroup, Args, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;

use super::settings::{ServeArgs, StorageArgs};
use super::subset::{SessionSettings, UserSettings};

/// session-auth: user and session authentication, compatible with the
/// Flask "Session authentication" API.
#[derive(Parser, Debug)]
#[command(
    name = "session-auth",
    version,
    about,
    args_conflicts_with_subcommands = true,
    after_help = "Without a command, `session-auth` serves; `session-auth serve --help` lists the server's settings."
)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings of `serve`, accepted here too so `session-auth` alone serves
    /// (hidden from this help: `serve --help` lists them).
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl Cli {
    /// The command line definition, with the server's settings hidden from
    /// the top-level help (they are listed once, by `serve --help`), and
    /// the shared settings described in the operator commands' own words.
    pub fn definition() -> clap::Command {
        <Self as clap::CommandFactory>::command()
            .mut_args(|arg| {
                if arg.get_id() == "help" || arg.get_id() == "version" {
                    arg
                } else {
                    arg.hide(true)
                }
            })
            .mut_subcommands(|command| match command.get_name() {
                // The server's settings, as the server reads them.
                "serve" | "config" => command,
                "migrate" => in_command_words(command)
                    .mut_arg("auto_migrate", |arg| arg.hide(true))
                    .mut_arg("admin_socket_timeout", |arg| arg.hide(true)),
                _ => in_command_words(command),
            })
    }
}

/// A storage setting's help as an operator command reads it (the clap
/// definitions describe them for `serve`).
fn in_command_words(command: clap::Command) -> clap::Command {
    let say = |arg: clap::Arg, text: &'static str| arg.help(text).long_help(text);
    command
        .mut_args(move |arg| match arg.get_id().as_str() {
            "auto_migrate" => say(
                arg,
                "SQL storage: apply pending migrations before the command runs (else a schema behind this build is refused)",
            ),
            "db_statement_timeout" => say(
                arg,
                "Seconds one SQL statement may run (or wait for a lock) before the command gives up",
            ),
            "db_pool_size" => say(arg, "Most database connections this command opens"),
            "admin_socket_timeout" => say(
                arg,
                "File storage: seconds to wait for a server that holds DATA_DIR to answer on its admin socket (the command is then carried out by that server)",
            ),
            // Only a server keeps a session cache.
            "session_cache_size" => arg.hide(true),
            _ => arg,
        })
        .mut_subcommands(in_command_words)
}

impl Cli {
    /// Parses these arguments (the first is the program name).
    ///
    /// # Errors
    /// clap's error, with the environment variable named when an
    /// environment variable (not a flag) held the bad value.
    pub fn parse_from_env_and<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Self::definition().try_get_matches_from(args)?;
        Self::from_arg_matches(&matches)
    }
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve(ServeArgs),
    /// Manage users in the configured storage.
    #[command(subcommand)]
    User(UserCommand),
    /// Apply (or roll back) the SQL schema migrations.
    Migrate(MigrateArgs),
    /// Copy the Flask API's `.db_User.json` and `.db_UserSession.json` into
    /// the configured storage.
    Import(ImportArgs),
    /// Manage sessions in the configured storage.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a shell completion script (e.g. `session-auth completions bash
    /// > /etc/bash_completion.d/session-auth`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `session-auth config …`.
#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Validate every setting `serve` reads and reach the storage
    /// read-only, changing nothing; reports every problem at once. Exit
    /// status: 0 serve would start, 1 a check failed, 2 a setting is
    /// invalid.
    Check(ConfigCheckArgs),
}

/// `session-auth config check`.
#[derive(Parser, Debug)]
#[command(name = "check")]
pub struct ConfigCheckArgs {
    /// Accept a DATA_DIR (or SQLite database file) that does not exist yet,
    /// as for a first start: a warning instead of an error.
    #[arg(long)]
    pub allow_empty: bool,
    /// Every setting of `serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// `session-auth sessions …`. Sessions in the storage are those of
/// `AUTH_TYPE=session_db_auth` (the other policies keep them in the
/// server's memory).
#[derive(Subcommand, Debug)]
pub enum SessionsCommand {
    /// List live sessions (of one user with --user), each with its handle.
    List(SessionsListArgs),
    /// End every session of a user (--user), or one session (--handle, a
    /// handle `sessions list` prints).
    Revoke(SessionsRevokeArgs),
    /// Remove expired and idle sessions (and failed-login records too old to
    /// count) now, as the server's sweeper does every SWEEP_INTERVAL.
    Prune(SessionSettings),
}

/// `session-auth sessions list`.
#[derive(Args, Debug)]
pub struct SessionsListArgs {
    /// Only this user's sessions (an email or an id).
    #[arg(long, value_name = "EMAIL|ID")]
    pub user: Option<String>,
    /// Where sessions are stored and how long they live.
    #[command(flatten)]
    pub settings: SessionSettings,
}

/// `session-auth sessions revoke`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("which").required(true).multiple(true).args(["user", "handle"])))]
pub struct SessionsRevokeArgs {
    /// The user whose sessions end (an email or an id); with --handle, the
    /// user that session belongs to.
    #[arg(long, value_name = "EMAIL|ID")]
    pub user: Option<String>,
    /// End only the session with this handle (the second column of
    /// `session-auth sessions list`).
    #[arg(long, value_name = "HANDLE")]
    pub handle: Option<String>,
    /// Where sessions are stored.
    #[command(flatten)]
    pub settings: SessionSettings,
}

/// `session-auth migrate`.
#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// Roll back this many migrations instead of applying.
    #[arg(long, value_name = "STEPS")]
    pub down: Option<u32>,
    /// Only print which migrations are applied and pending.
    #[arg(long, conflicts_with = "down")]
    pub status: bool,
    /// The database to migrate (STORAGE postgres or sqlite).
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// `session-auth import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Folder holding the Flask API's `.db_User.json` and
    /// `.db_UserSession.json`.
    #[arg(long = "from", value_name = "DIR")]
    pub from: PathBuf,
    /// Where to import to.
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// `session-auth user …`. A user is named by an email or an id.
#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user and print its id. The password is asked twice on the
    /// terminal (not echoed), or read from standard input with
    /// --password-stdin.
    Create(CreateUserArgs),
    /// List every user: id, email, names, creation time, administrator.
    List(StorageArgs),
    /// Show one user.
    Show(UserRefArgs),
    /// Delete a user and end their sessions, after showing the user and
    /// asking for confirmation (--yes: without asking).
    Delete(DeleteUserArgs),
    /// Set a user's password (asked twice, or --password-stdin) and end
    /// their sessions.
    SetPassword(SetPasswordArgs),
    /// Make a user an administrator (under ACCESS_POLICY=owner they see and
    /// change every user).
    GrantAdmin(UserRefArgs),
    /// Take the administrator right from a user; refused for the last
    /// administrator.
    RevokeAdmin(UserRefArgs),
}

/// Where the password of `user create` and `user set-password` comes
/// from: never the command line (visible to every local user in `ps` and
/// kept in shell history), so there is no `--password`.
#[derive(Args, Debug, Clone)]
pub struct PasswordInput {
    /// Read the password from the first line of standard input instead of
    /// asking on the terminal (for scripts: `printf '%s' "$PW" | …`).
    #[arg(long)]
    pub password_stdin: bool,
}

/// `session-auth user create`.
#[derive(Args, Debug)]
pub struct CreateUserArgs {
    /// The new user's email (unique).
    #[arg(long)]
    pub email: String,
    /// Given name.
    #[arg(long)]
    pub first_name: Option<String>,
    /// Family name.
    #[arg(long)]
    pub last_name: Option<String>,
    /// Make the user an administrator.
    #[arg(long)]
    pub admin: bool,
    /// The password.
    #[command(flatten)]
    pub password: PasswordInput,
    /// Where users are stored and the password rules.
    #[command(flatten)]
    pub settings: UserSettings,
}

/// `session-auth user show|delete|grant-admin|revoke-admin`.
#[derive(Args, Debug)]
pub struct UserRefArgs {
    /// The user: an email or an id.
    #[arg(value_name = "EMAIL|ID")]
    pub user: String,
    /// Where users are stored.
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// `session-auth user delete`.
#[derive(Args, Debug)]
pub struct DeleteUserArgs {
    /// Delete without asking for confirmation (needed when standard input
    /// is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// The user.
    #[command(flatten)]
    pub user: UserRefArgs,
}

/// `session-auth user set-password`.
#[derive(Args, Debug)]
pub struct SetPasswordArgs {
    /// The user: an email or an id.
    #[arg(value_name = "EMAIL|ID")]
    pub user: String,
    /// The password.
    #[command(flatten)]
    pub password: PasswordInput,
    /// Where users are stored and the password rules.
    #[command(flatten)]
    pub settings: UserSettings,
}
