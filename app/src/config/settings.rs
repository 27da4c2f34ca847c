//! The setting groups commands share (the server's [`ServeArgs`], the
//! storage's [`StorageArgs`]): each setting's flag, environment variable,
//! help and default, written once here as clap definitions, with the value
//! types and parsers that accept or refuse its values.

use clap::{Args, ValueEnum};
use std::path::PathBuf;

use domain::{AccessPolicy, AuthType, Registration};

/// The longest session lifetime or idle timeout accepted, in seconds (100
/// years): longer ones could not be added to a timestamp.
pub const MAX_DURATION_SECONDS: i64 = 100 * 366 * 86_400;

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
    /// File storage: seconds the server's admin socket
    /// (`DATA_DIR/.session-auth.admin.sock`, through which the CLI reaches a
    /// running server) waits for a command's request and its answer to be
    /// taken; a command waits as long for the server.
    #[arg(long, env = "ADMIN_SOCKET_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub admin_socket_timeout: u32,
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
///
/// Its default is clap's (`--security-profile`'s in [`ServeArgs`]), not a
/// `Default` of its own.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityProfile {
    /// The Flask API's behaviour: every setting keeps its compatible
    /// default.
    Compatible,
    /// LOGIN_ERRORS=generic, PASSWORD_MIN_LENGTH=12, PASSWORD_POLICY=strong,
    /// COOKIE_SECURE=true.
    Strict,
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
    /// Seconds a request may take, from its headers to its answer, before it
    /// is answered 503: a database link that stopped answering (no error,
    /// no reset) holds a statement until this runs out.
    #[arg(long, env = "REQUEST_TIMEOUT", default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub request_timeout: u32,
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
    /// Mail and password reset.
    #[command(flatten)]
    pub mail: super::mail::MailArgs,
    /// Where data lives.
    #[command(flatten)]
    pub storage: StorageArgs,
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
