//! The mail settings (`MAIL_*`, `SMTP_*`) and password reset's
//! (`PASSWORD_RESET_*`): their clap definitions, and the outbox and rules
//! they give.

use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

use adapter_mail::{Delivery, Outbox, OutboxSettings, SmtpSecurity, SmtpSettings, Templates};
use domain::RecoveryRules;

/// Where mail goes (`MAIL_TRANSPORT`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailTransport {
    /// No mail: password reset is off (its route answers 404).
    Off,
    /// An SMTP server (SMTP_HOST, SMTP_PORT, SMTP_TLS, …).
    Smtp,
    /// A folder (MAIL_OUTBOX_DIR), one `.eml` file per message: for
    /// development; nothing is sent and nothing is logged.
    File,
}

/// `SMTP_TLS`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// STARTTLS, required (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// None: only for a relay on the same host.
    None,
}

/// Mail and password reset.
#[derive(Args, Debug, Clone)]
pub struct MailArgs {
    /// Where mail goes: `off` (no mail, no password reset), `smtp`, or
    /// `file` (each message written to MAIL_OUTBOX_DIR).
    #[arg(long, env = "MAIL_TRANSPORT", value_enum, default_value_t = MailTransport::Off)]
    pub mail_transport: MailTransport,
    /// The sender of every message, `Name <address>` or an address.
    #[arg(long, env = "MAIL_FROM", default_value = "session-auth <no-reply@localhost>", value_parser = parse_mailbox)]
    pub mail_from: adapter_mail::Mailbox,
    /// The base URL of the links mailed (the page that takes the token):
    /// a reset link is `<base>/reset_password?token=<token>`.
    #[arg(long, env = "MAIL_LINK_BASE_URL", default_value = "http://localhost:5000", value_parser = parse_link_base)]
    pub mail_link_base_url: String,
    /// MAIL_TRANSPORT=file: the folder messages are written to (created
    /// if missing).
    #[arg(long, env = "MAIL_OUTBOX_DIR", default_value = "outbox")]
    pub mail_outbox_dir: PathBuf,
    /// Most messages waiting for delivery; more are dropped (the request
    /// is answered the same).
    #[arg(long, env = "MAIL_QUEUE_SIZE", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub mail_queue_size: u32,
    /// Deliveries retried after a failed one before a message is given up.
    #[arg(long, env = "MAIL_RETRIES", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=20))]
    pub mail_retries: u32,
    /// Seconds before the first retry, doubled before each next one.
    #[arg(long, env = "MAIL_RETRY_DELAY", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub mail_retry_delay: u32,
    /// The SMTP server's host name.
    #[arg(long, env = "SMTP_HOST", default_value = "localhost")]
    pub smtp_host: String,
    /// The SMTP server's port.
    #[arg(long, env = "SMTP_PORT", default_value_t = 587)]
    pub smtp_port: u16,
    /// TLS to the SMTP server: `starttls` (required), `implicit`, or
    /// `none`.
    #[arg(long, env = "SMTP_TLS", value_enum, default_value_t = SmtpTls::Starttls)]
    pub smtp_tls: SmtpTls,
    /// SMTP user name (authentication only when set).
    #[arg(long, env = "SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    /// SMTP password.
    #[arg(long, env = "SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// Seconds one delivery may take (connecting, TLS, every reply).
    #[arg(long, env = "SMTP_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=600))]
    pub smtp_timeout: u32,
    /// Seconds a password-reset link works.
    #[arg(long, env = "PASSWORD_RESET_TTL", default_value_t = 1800, value_parser = clap::value_parser!(u32).range(60..=604_800))]
    pub password_reset_ttl: u32,
    /// Reset requests one client address may make per
    /// PASSWORD_RESET_WINDOW; more are answered alike and send nothing.
    #[arg(long, env = "PASSWORD_RESET_ADDRESS_LIMIT", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub password_reset_address_limit: u64,
    /// Reset requests naming one email per PASSWORD_RESET_WINDOW.
    #[arg(long, env = "PASSWORD_RESET_ACCOUNT_LIMIT", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub password_reset_account_limit: u64,
    /// The reset limits' window, seconds.
    #[arg(long, env = "PASSWORD_RESET_WINDOW", default_value_t = 3600, value_parser = clap::value_parser!(u32).range(1..))]
    pub password_reset_window: u32,
}

fn parse_mailbox(text: &str) -> Result<adapter_mail::Mailbox, String> {
    text.parse()
        .map_err(|e| format!("`{text}` is not a mail address ({e})"))
}

/// An http(s) URL of ASCII text, so every link travels unencoded.
fn parse_link_base(text: &str) -> Result<String, String> {
    let ok = (text.starts_with("https://") || text.starts_with("http://"))
        && text.is_ascii()
        && !text
            .chars()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
        && text.len() <= 512;
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` is not an http:// or https:// URL of at most 512 ASCII characters"
        ))
    }
}

impl MailArgs {
    /// The rules of password reset.
    pub fn recovery_rules(&self) -> RecoveryRules {
        RecoveryRules {
            reset_lifetime: chrono::Duration::seconds(self.password_reset_ttl.into()),
            per_address: self.password_reset_address_limit,
            per_account: self.password_reset_account_limit,
            window: chrono::Duration::seconds(self.password_reset_window.into()),
        }
    }

    /// The outbox these settings describe, its delivery task started on the
    /// current runtime; `None` under MAIL_TRANSPORT=off.
    ///
    /// # Errors
    /// What is wrong with the settings (an outbox folder that cannot be
    /// created, an SMTP host that is no TLS server name).
    pub fn outbox(&self) -> Result<Option<Outbox>, String> {
        let delivery = match self.mail_transport {
            MailTransport::Off => return Ok(None),
            MailTransport::File => {
                std::fs::create_dir_all(&self.mail_outbox_dir).map_err(|e| {
                    format!(
                        "cannot create MAIL_OUTBOX_DIR {}: {e}",
                        self.mail_outbox_dir.display()
                    )
                })?;
                Delivery::folder(&self.mail_outbox_dir)
            }
            MailTransport::Smtp => Delivery::smtp(&SmtpSettings {
                host: self.smtp_host.clone(),
                port: self.smtp_port,
                security: match self.smtp_tls {
                    SmtpTls::Starttls => SmtpSecurity::StartTls,
                    SmtpTls::Implicit => SmtpSecurity::Implicit,
                    SmtpTls::None => SmtpSecurity::None,
                },
                credentials: self
                    .smtp_username
                    .clone()
                    .map(|user| (user, self.smtp_password.clone().unwrap_or_default())),
                timeout: Duration::from_secs(self.smtp_timeout.into()),
            })
            .map_err(|e| format!("SMTP_HOST {}: {e}", self.smtp_host))?,
        };
        let templates = Templates {
            from: self.mail_from.clone(),
            link_base: self.mail_link_base_url.clone(),
        };
        let settings = OutboxSettings {
            queue_size: self.mail_queue_size as usize,
            retries: self.mail_retries,
            retry_delay: Duration::from_secs(self.mail_retry_delay.into()),
        };
        Ok(Some(Outbox::start(templates, delivery, settings)))
    }
}
