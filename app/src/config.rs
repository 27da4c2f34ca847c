//! Configuration: the Flask API's environment variables plus this
//! service's own, each also a command-line flag.

use clap::{Arg, ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

use domain::{AccessPolicy, AuthType, Registration};

/// The longest session lifetime or idle timeout accepted, in seconds (100
/// years): longer ones could not be added to a timestamp.
pub const MAX_DURATION_SECONDS: i64 = 100 * 366 * 86_400;

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
    /// the top-level help (they are listed once, by `serve --help`).
    pub fn definition() -> clap::Command {
        <Self as clap::CommandFactory>::command().mut_args(|arg| {
            if arg.get_id() == "help" || arg.get_id() == "version" {
                arg
            } else {
                arg.hide(true)
            }
        })
    }

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
    /// Validate every setting `serve` reads and connect to the storage
    /// (read-only); exits 0, or names the problem.
    Check(ServeArgs),
}

/// `session-auth sessions …`. Sessions in the storage are those of
/// `AUTH_TYPE=session_db_auth` (the other policies keep them in the
/// server's memory).
#[derive(Subcommand, Debug)]
pub enum SessionsCommand {
    /// List live sessions (of one user with --user).
    List(SessionsListArgs),
    /// End every session of a user.
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
pub struct SessionsRevokeArgs {
    /// The user whose sessions end (an email or an id).
    #[arg(long, value_name = "EMAIL|ID")]
    pub user: String,
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
    /// Delete a user and end their sessions.
    Delete(UserRefArgs),
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

/// The ids of the storage settings, shown by every command that opens the
/// storage.
const STORAGE_SETTINGS: &[&str] = &[
    "storage",
    "data_dir",
    "database_url",
    "db_pool_size",
    "auto_migrate",
];

/// The part of [`ServeArgs`] a command reads: the others keep their
/// defaults, are hidden from its help, and their environment variables are
/// not read (a bad value there does not concern this command).
fn only_settings(keep: &'static [&'static str]) -> impl FnMut(Arg) -> Arg {
    let serve: Vec<String> = ServeArgs::augment_args(clap::Command::new("serve"))
        .get_arguments()
        .map(|arg| arg.get_id().to_string())
        .collect();
    move |arg: Arg| {
        let id = arg.get_id().as_str();
        if serve.iter().any(|s| s == id) && !keep.contains(&id) && !STORAGE_SETTINGS.contains(&id) {
            arg.hide(true).env(None::<&'static str>)
        } else {
            arg
        }
    }
}

/// A subset of the server's settings, for an operator command.
macro_rules! settings_subset {
    ($(#[$doc:meta])* $name:ident, $keep:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub ServeArgs);

        impl FromArgMatches for $name {
            fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
                ServeArgs::from_arg_matches(matches).map(Self)
            }
            fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
                self.0.update_from_arg_matches(matches)
            }
        }

        impl Args for $name {
            fn augment_args(command: clap::Command) -> clap::Command {
                ServeArgs::augment_args(command).mut_args(only_settings($keep))
            }
            fn augment_args_for_update(command: clap::Command) -> clap::Command {
                ServeArgs::augment_args_for_update(command).mut_args(only_settings($keep))
            }
        }
    };
}

settings_subset!(
    /// The storage and the password rules (the user commands).
    UserSettings,
    &["password_min_length", "password_policy", "security_profile"]
);
settings_subset!(
    /// The storage and the session lifetimes (the session commands).
    SessionSettings,
    &["session_duration", "session_idle_timeout"]
);

/// Where data lives.
#[derive(Args, Debug, Clone)]
pub struct StorageArgs {
    /// Storage backend: `file` keeps the Flask API's JSON files in DATA_DIR;
    /// `memory` keeps everything in process memory (lost at exit);
    /// `postgres` and `sqlite` use the database at DATABASE_URL.
    #[arg(long, env = "STORAGE", value_enum, default_value_t = StorageKind::File)]
    pub storage: StorageKind,
    /// Folder of the file storage (`.db_User.json`, `.db_UserSession.json`).
    #[arg(long, env = "DATA_DIR", default_value = ".")]
    pub data_dir: PathBuf,
    /// File storage: compact the journal into the Flask files once it
    /// holds this many bytes.
    #[arg(long, env = "JOURNAL_COMPACT_BYTES", default_value_t = 16 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub journal_compact_bytes: u64,
    /// File storage: compact the journal into the Flask files once its
    /// oldest entry is this many seconds old.
    #[arg(long, env = "JOURNAL_COMPACT_AGE", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub journal_compact_age: u64,
    /// Database of the SQL storage: `postgres://user:password@host/db` or
    /// `sqlite://path?mode=rwc` (default for sqlite:
    /// `sqlite://session-auth.db?mode=rwc`).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Most database connections held by this process.
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub db_pool_size: u32,
    /// Seconds one SQL statement may run (or wait for a lock) before it is
    /// abandoned and the request answered 503.
    #[arg(long, env = "DB_STATEMENT_TIMEOUT", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub db_statement_timeout: u32,
    /// PostgreSQL: most sessions (with their users) the server keeps in
    /// memory, so that a request with a known session asks nothing of the
    /// database; every change, by any instance or the CLI, reaches the cache
    /// through the database's notifications. 0: no cache. About 1 KB each.
    #[arg(long, env = "SESSION_CACHE_SIZE", default_value_t = 100_000)]
    pub session_cache_size: usize,
    /// Apply pending migrations when the server starts.
    #[arg(long, env = "AUTO_MIGRATE", default_value = "true", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub auto_migrate: bool,
}

/// The storage backends.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageKind {
    /// Process memory.
    Memory,
    /// The Flask API's JSON files.
    File,
    /// PostgreSQL through SeaORM.
    Postgres,
    /// SQLite through SeaORM.
    Sqlite,
}

impl StorageKind {
    /// Whether this is a SQL database.
    pub fn is_sql(&self) -> bool {
        matches!(self, Self::Postgres | Self::Sqlite)
    }
}

/// Log line format.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines with key=value fields.
    Text,
    /// One JSON object per line.
    Json,
}

/// `SECURITY_PROFILE`: the defaults of the settings a security review asks
/// about, each still overridable by its own variable or flag.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SecurityProfile {
    /// The Flask API's behaviour: every setting keeps its compatible
    /// default.
    #[default]
    Compatible,
    /// LOGIN_ERRORS=generic, PASSWORD_MIN_LENGTH=12, PASSWORD_POLICY=strong,
    /// COOKIE_SECURE=true.
    Strict,
}

impl SecurityProfile {
    /// A setting's value under this profile: the one given explicitly (a
    /// variable or flag), else the profile's. Each setting the profile
    /// decides is one call in [`ServeArgs::settings`].
    pub fn pick<T>(self, explicit: Option<T>, compatible: T, strict: T) -> T {
        explicit.unwrap_or(match self {
            Self::Compatible => compatible,
            Self::Strict => strict,
        })
    }
}

/// `LOGIN_ERRORS`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginErrorsSetting {
    /// The Flask API's answers: `404 no user found for this email`, `401
    /// wrong password`.
    Compatible,
    /// One answer for both: `401 wrong email or password`.
    Generic,
}

impl From<LoginErrorsSetting> for domain::LoginErrors {
    fn from(setting: LoginErrorsSetting) -> Self {
        match setting {
            LoginErrorsSetting::Compatible => Self::Compatible,
            LoginErrorsSetting::Generic => Self::Generic,
        }
    }
}

/// `PASSWORD_POLICY`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordPolicy {
    /// Only the length limits (PASSWORD_MIN_LENGTH to 128 characters).
    Length,
    /// The length limits and a zxcvbn strength score of at least 3 of 4.
    Strong,
}

/// `session-auth serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "API_HOST", default_value = "0.0.0.0")]
    pub api_host: String,
    /// Port to listen on.
    #[arg(long, env = "API_PORT", default_value_t = 5000)]
    pub api_port: u16,
    /// Authentication policy: none, auth, basic_auth, session_auth,
    /// session_exp_auth, session_db_auth.
    #[arg(long, env = "AUTH_TYPE", default_value = "session_db_auth", value_parser = parse_auth_type)]
    pub auth_type: AuthType,
    /// What users may do to other users: `open` (the Flask API: anyone
    /// logged in lists, changes and deletes every user) or `owner` (a user
    /// sees and changes only their own user; administrators, everything).
    /// Default: open, owner under SECURITY_PROFILE=strict.
    #[arg(long, env = "ACCESS_POLICY", value_parser = parse_access_policy)]
    pub access_policy: Option<AccessPolicy>,
    /// Who may create users: `closed` (a logged-in caller, as the Flask
    /// API) or `open` (also anyone, anonymously: a user who is not an
    /// administrator, throttled per client address like logins).
    #[arg(long, env = "REGISTRATION", default_value = "closed", value_parser = parse_registration)]
    pub registration: Registration,
    /// Name of the session cookie.
    #[arg(long, env = "SESSION_NAME", default_value = "_my_session_id", value_parser = parse_cookie_name)]
    pub session_name: String,
    /// Session lifetime in seconds (session_exp_auth, session_db_auth);
    /// 0 or negative: sessions never expire.
    #[arg(
        long,
        env = "SESSION_DURATION",
        default_value_t = 86_400,
        allow_negative_numbers = true,
        value_parser = clap::value_parser!(i64).range(..=MAX_DURATION_SECONDS)
    )]
    pub session_duration: i64,
    /// Defaults of the security settings: `compatible` (the Flask API's
    /// behaviour) or `strict` (ACCESS_POLICY=owner, LOGIN_ERRORS=generic,
    /// PASSWORD_MIN_LENGTH=12, PASSWORD_POLICY=strong, COOKIE_SECURE=true);
    /// each of those set
    /// explicitly wins over the profile.
    #[arg(long, env = "SECURITY_PROFILE", value_enum, default_value_t = SecurityProfile::Compatible)]
    pub security_profile: SecurityProfile,
    /// Mark the session cookie `Secure` (send it over HTTPS only). Default:
    /// false, true under SECURITY_PROFILE=strict.
    #[arg(long, env = "COOKIE_SECURE", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub cookie_secure: Option<bool>,
    /// What a failed login says: `compatible` tells an unknown email (404)
    /// from a wrong password (401), as the Flask API; `generic` answers both
    /// `401 wrong email or password`. Default: compatible, generic under
    /// SECURITY_PROFILE=strict.
    #[arg(long, env = "LOGIN_ERRORS", value_enum)]
    pub login_errors: Option<LoginErrorsSetting>,
    /// End sessions not used for this many seconds (activity extends them;
    /// SESSION_DURATION still ends them); 0: no idle timeout.
    #[arg(long, env = "SESSION_IDLE_TIMEOUT", default_value_t = 0, allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(..=MAX_DURATION_SECONDS))]
    pub session_idle_timeout: i64,
    /// Shortest new password accepted, in characters. Default: 1 (any
    /// non-empty, as the Flask API), 12 under SECURITY_PROFILE=strict.
    #[arg(long, env = "PASSWORD_MIN_LENGTH", value_parser = clap::value_parser!(u16).range(1..=128))]
    pub password_min_length: Option<u16>,
    /// Rules for new passwords: `length` (only the length limits) or
    /// `strong` (also a zxcvbn strength score of at least 3 of 4, judged
    /// offline). Default: length, strong under SECURITY_PROFILE=strict.
    #[arg(long, env = "PASSWORD_POLICY", value_enum)]
    pub password_policy: Option<PasswordPolicy>,
    /// Largest request body accepted, in bytes (larger: 413).
    #[arg(long, env = "BODY_LIMIT", default_value_t = 65_536, value_parser = clap::value_parser!(u32).range(1..))]
    pub body_limit: u32,
    /// Failed logins an account may take per THROTTLE_ACCOUNT_WINDOW before
    /// further attempts are paced (429).
    #[arg(long, env = "THROTTLE_ACCOUNT_FAILURES", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub throttle_account_failures: u64,
    /// The account limit's window, seconds.
    #[arg(long, env = "THROTTLE_ACCOUNT_WINDOW", default_value_t = 3600, value_parser = clap::value_parser!(u32).range(1..))]
    pub throttle_account_window: u32,
    /// Failed logins one client address may make per THROTTLE_BACKOFF before
    /// it must wait (429).
    #[arg(long, env = "THROTTLE_ADDRESS_FAILURES", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub throttle_address_failures: u64,
    /// The short back-off, seconds: the per-address window, and the pace of
    /// an account past its limit.
    #[arg(long, env = "THROTTLE_BACKOFF", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub throttle_backoff: u32,
    /// Take the client address from X-Forwarded-For (only behind a proxy
    /// that sets it).
    #[arg(long, env = "TRUST_FORWARDED_FOR", default_value = "false", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub trust_forwarded_for: bool,
    /// Seconds between sweeps of expired sessions.
    #[arg(long, env = "SWEEP_INTERVAL", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub sweep_interval: u32,
    /// Log level (`trace`, `debug`, `info`, `warn`, `error`, `off`) or
    /// filter of TARGET=LEVEL directives (e.g. `debug`,
    /// `warn,session_auth::access=info`, `info,adapter_seaorm=debug`).
    #[arg(long, env = "LOG_LEVEL", default_value = "info", value_parser = parse_log_level)]
    pub log_level: String,
    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// How much lower than the server's the password-hashing threads'
    /// scheduling priority is, as a nice value (0 to 19): a login storm
    /// then takes only the CPU that other requests leave.
    #[arg(long, env = "HASH_NICENESS", default_value_t = 19, value_parser = clap::value_parser!(u8).range(0..=19))]
    pub hash_niceness: u8,
    /// Most connections served at once; more wait in the kernel's backlog.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Seconds a client may take to send a request's headers (slow clients
    /// are disconnected).
    #[arg(long, env = "HEADER_READ_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub header_read_timeout: u32,
    /// Largest header section of a request, in bytes (at least 8192;
    /// larger: the connection is refused with 431).
    #[arg(long, env = "MAX_HEADER_BYTES", default_value_t = 16_384, value_parser = clap::value_parser!(u32).range(8192..=1_048_576))]
    pub max_header_bytes: u32,
    /// Most header fields in one request.
    #[arg(long, env = "MAX_HEADERS", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub max_headers: u32,
    /// Seconds to let in-flight requests finish at shutdown.
    #[arg(long, env = "SHUTDOWN_TIMEOUT", default_value_t = 10)]
    pub shutdown_timeout: u64,
    /// Serve Prometheus metrics at GET /metrics (on METRICS_ADDR when set,
    /// else on the API's port).
    #[arg(long, env = "METRICS", default_value = "false", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub metrics: bool,
    /// A separate `host:port` for GET /metrics (then not served on the
    /// API's port); implies METRICS=true.
    #[arg(long, env = "METRICS_ADDR", value_parser = parse_socket_address)]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Email of a first user to create at start when no user has it
    /// (any storage, memory included); needs BOOTSTRAP_PASSWORD_FILE.
    #[arg(long, env = "BOOTSTRAP_EMAIL", requires = "bootstrap_password_file")]
    pub bootstrap_email: Option<String>,
    /// File holding that user's password (its first line), e.g. a
    /// systemd or container secret.
    #[arg(long, env = "BOOTSTRAP_PASSWORD_FILE", requires = "bootstrap_email")]
    pub bootstrap_password_file: Option<PathBuf>,
    /// Where data lives.
    #[command(flatten)]
    pub storage: StorageArgs,
}

impl ServeArgs {
    /// The server's resource limits these arguments give.
    pub fn server_limits(&self) -> crate::server::ServerLimits {
        crate::server::ServerLimits {
            max_connections: self.max_connections as usize,
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout.into()),
            max_header_bytes: self.max_header_bytes as usize,
            max_headers: self.max_headers as usize,
        }
    }

    /// clap's defaults, with no flag and no environment variable read: the
    /// one definition of every default.
    ///
    /// # Panics
    /// Only if the definitions above are inconsistent (a default their own
    /// parser refuses), which the tests rule out.
    pub fn defaults() -> Self {
        let command = Self::augment_args(clap::Command::new("serve"))
            .mut_args(|arg| arg.env(None::<&'static str>));
        command
            .try_get_matches_from(["serve"])
            .and_then(|matches| Self::from_arg_matches(&matches))
            .expect("every setting of serve has a default its parser accepts")
    }

    /// The service settings these arguments give, the security profile's
    /// defaults filled in where no value was given.
    pub fn settings(&self) -> crate::Settings {
        let profile = self.security_profile;
        crate::Settings {
            auth_type: self.auth_type,
            session_name: self.session_name.clone(),
            session_duration: self.session_duration,
            session_idle_timeout: self.session_idle_timeout,
            // The settings SECURITY_PROFILE decides: (explicit value,
            // compatible default, strict default).
            cookie_secure: profile.pick(self.cookie_secure, false, true),
            login_errors: profile
                .pick(
                    self.login_errors,
                    LoginErrorsSetting::Compatible,
                    LoginErrorsSetting::Generic,
                )
                .into(),
            password_policy: profile.pick(
                self.password_policy,
                PasswordPolicy::Length,
                PasswordPolicy::Strong,
            ),
            throttle: domain::ThrottleRules {
                account_max_failures: self.throttle_account_failures,
                account_window: chrono::Duration::seconds(self.throttle_account_window.into()),
                address_max_failures: self.throttle_address_failures,
                backoff: chrono::Duration::seconds(self.throttle_backoff.into()),
            },
            passwords: domain::PasswordRules {
                min_length: profile.pick(self.password_min_length, 1, 12).into(),
                max_length: domain::PASSWORD_MAX,
            },
            body_limit: self.body_limit as usize,
            trust_forwarded_for: self.trust_forwarded_for,
            access: domain::AccessRules {
                policy: profile.pick(self.access_policy, AccessPolicy::Open, AccessPolicy::Owner),
                registration: self.registration,
            },
        }
    }
}

/// The levels a `LOG_LEVEL` directive may name.
const LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];

/// A level or a filter whose every directive ends in a level: a bare word
/// such as `verbose` would otherwise be read as a target name and silence
/// every log line.
fn parse_log_level(text: &str) -> Result<String, String> {
    let directives: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    if directives.is_empty() {
        return Err(format!("expected a level ({})", LOG_LEVELS.join(", ")));
    }
    for directive in directives {
        let level = directive
            .rsplit_once('=')
            .map_or(directive, |(_, level)| level);
        if !LOG_LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "`{directive}` is neither a level ({}) nor TARGET=LEVEL",
                LOG_LEVELS.join(", ")
            ));
        }
    }
    tracing_subscriber::EnvFilter::try_new(text).map_err(|e| e.to_string())?;
    Ok(text.to_owned())
}

fn parse_socket_address(text: &str) -> Result<std::net::SocketAddr, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not an address and port such as 127.0.0.1:9090"))
}

fn parse_access_policy(text: &str) -> Result<AccessPolicy, String> {
    text.parse()
        .map_err(|e: domain::UnknownSetting| e.to_string())
}

fn parse_registration(text: &str) -> Result<Registration, String> {
    text.parse()
        .map_err(|e: domain::UnknownSetting| e.to_string())
}

fn parse_auth_type(text: &str) -> Result<AuthType, String> {
    text.parse()
        .map_err(|e: domain::UnknownAuthType| e.to_string())
}

/// A cookie name must be an RFC 6265 token: visible ASCII without
/// separators.
fn parse_cookie_name(text: &str) -> Result<String, String> {
    const SEPARATORS: &[u8] = b"()<>@,;:\\\"/[]?={} \t";
    if text.is_empty() {
        return Err("the session cookie name must not be empty".into());
    }
    if let Some(bad) = text
        .bytes()
        .find(|b| !b.is_ascii_graphic() || SEPARATORS.contains(b))
    {
        return Err(format!("{:?} is not allowed in a cookie name", bad as char));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("session-auth").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let cli = parse(&["serve"]).unwrap();
        let Some(Command::Serve(serve)) = cli.command else {
            panic!("expected serve")
        };
        // Environment variables of the test process could change defaults;
        // the ones below are not set by the test runner.
        assert_eq!(serve.auth_type, AuthType::SessionDbAuth);
        assert_eq!(serve.session_duration, 86_400);
        assert_eq!(serve.session_name, "_my_session_id");
        assert_eq!(serve.api_port, 5000);
        assert_eq!(serve.security_profile, SecurityProfile::Compatible);
        let settings = serve.settings();
        assert!(!settings.cookie_secure);
        assert_eq!(settings.login_errors, domain::LoginErrors::Compatible);
        assert_eq!(settings.passwords.min_length, 1);
        assert_eq!(settings.password_policy, PasswordPolicy::Length);
        assert_eq!(serve.storage.storage, StorageKind::File);
        assert_eq!(settings.access.policy, AccessPolicy::Open);
        assert_eq!(serve.registration, Registration::Closed);
    }

    #[test]
    fn access_settings_accept_only_their_values() {
        let cli = parse(&[
            "serve",
            "--access-policy",
            "owner",
            "--registration",
            "open",
        ])
        .unwrap();
        let Some(Command::Serve(serve)) = cli.command else {
            panic!("expected serve")
        };
        assert_eq!(serve.access_policy, Some(AccessPolicy::Owner));
        assert_eq!(serve.registration, Registration::Open);
        let error = parse(&["serve", "--access-policy", "admins"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("open, owner"), "{error}");
        assert!(parse(&["serve", "--registration", "yes"]).is_err());
    }

    /// The README's configuration table, as (variable, flag, default) rows:
    /// the default is the first `code` span of its column, `None` for `—`.
    fn readme_settings() -> Vec<(String, String, Option<String>)> {
        let readme = include_str!("../../README.md");
        readme
            .lines()
            .filter(|line| line.starts_with("| `"))
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let code = |cell: &str| cell.split('`').nth(1).map(str::to_owned);
                let variable = code(cells.get(1)?)?;
                let flag = code(cells.get(2)?)?;
                if !flag.starts_with("--") {
                    return None;
                }
                let default = cells.get(3)?;
                let default = if default.starts_with('—') {
                    None
                } else {
                    code(default)
                };
                Some((variable, flag, default))
            })
            .collect()
    }

    #[test]
    fn the_readme_table_lists_every_setting_with_its_flag_and_default() {
        let command = ServeArgs::augment_args(clap::Command::new("serve"));
        let from_clap: Vec<(String, String, Option<String>)> = command
            .get_arguments()
            .filter_map(|arg| {
                let variable = arg.get_env()?.to_str()?.to_owned();
                let flag = format!("--{}", arg.get_long()?);
                let default = arg
                    .get_default_values()
                    .first()
                    .and_then(|v| v.to_str())
                    .map(str::to_owned);
                Some((variable, flag, default))
            })
            .collect();
        let mut in_readme = readme_settings();
        let mut from_clap_sorted = from_clap.clone();
        in_readme.sort();
        from_clap_sorted.sort();
        assert_eq!(
            in_readme, from_clap_sorted,
            "README configuration table vs clap"
        );
        assert!(from_clap.len() >= 20, "the table was not found");
    }

    fn serve_settings(args: &[&str]) -> crate::Settings {
        let cli = parse(&[&["serve"], args].concat()).unwrap();
        let Some(Command::Serve(serve)) = cli.command else {
            panic!("expected serve")
        };
        serve.settings()
    }

    #[test]
    fn the_strict_profile_sets_every_security_default_at_once() {
        let strict = serve_settings(&["--security-profile", "strict"]);
        assert!(strict.cookie_secure);
        assert_eq!(strict.login_errors, domain::LoginErrors::Generic);
        assert_eq!(strict.passwords.min_length, 12);
        assert_eq!(strict.password_policy, PasswordPolicy::Strong);
        assert_eq!(strict.access.policy, AccessPolicy::Owner);
    }

    #[test]
    fn an_explicit_setting_wins_over_the_profile_either_way() {
        let strict = serve_settings(&[
            "--security-profile",
            "strict",
            "--cookie-secure",
            "false",
            "--login-errors",
            "compatible",
            "--password-min-length",
            "8",
            "--password-policy",
            "length",
            "--access-policy",
            "open",
        ]);
        assert_eq!(strict.access.policy, AccessPolicy::Open);
        assert!(!strict.cookie_secure);
        assert_eq!(strict.login_errors, domain::LoginErrors::Compatible);
        assert_eq!(strict.passwords.min_length, 8);
        assert_eq!(strict.password_policy, PasswordPolicy::Length);
        let compatible =
            serve_settings(&["--login-errors", "generic", "--password-policy", "strong"]);
        assert_eq!(compatible.login_errors, domain::LoginErrors::Generic);
        assert_eq!(compatible.password_policy, PasswordPolicy::Strong);
        assert!(!compatible.cookie_secure);
        assert_eq!(compatible.passwords.min_length, 1);
        let owner = serve_settings(&["--access-policy", "owner"]);
        assert_eq!(owner.access.policy, AccessPolicy::Owner);
    }

    #[test]
    fn unknown_profile_or_policy_names_are_refused() {
        assert!(parse(&["serve", "--security-profile", "paranoid"]).is_err());
        assert!(parse(&["serve", "--password-policy", "zxcvbn"]).is_err());
        assert!(parse(&["serve", "--login-errors", "vague"]).is_err());
    }

    #[test]
    fn unknown_auth_type_is_refused_with_the_accepted_values() {
        let error = parse(&["serve", "--auth-type", "sessions"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("session_db_auth"), "{error}");
    }

    #[test]
    fn unparsable_session_duration_is_refused() {
        assert!(parse(&["serve", "--session-duration", "ten"]).is_err());
        assert!(parse(&["serve", "--session-duration", "-1"]).is_ok());
    }

    #[test]
    fn durations_too_long_for_time_arithmetic_are_refused() {
        for flag in ["--session-duration", "--session-idle-timeout"] {
            for huge in ["9000000000000000", "9223372036854775807"] {
                let error = parse(&["serve", flag, huge]).unwrap_err().to_string();
                assert!(error.contains(flag), "{error}");
            }
            assert!(parse(&["serve", flag, &MAX_DURATION_SECONDS.to_string()]).is_ok());
        }
    }

    #[test]
    fn cookie_names_with_separators_are_refused() {
        assert!(parse(&["serve", "--session-name", "a b"]).is_err());
        assert!(parse(&["serve", "--session-name", "a;b"]).is_err());
        assert!(parse(&["serve", "--session-name", "_sid"]).is_ok());
    }

    #[test]
    fn no_subcommand_means_serve_with_top_level_flags() {
        let cli = parse(&["--api-port", "8080"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.api_port, 8080);
    }
}
