//! The mail port: the messages the use cases send ([`Mail`]) and where
//! they go ([`Mailer`]). The domain says what a message is for and to
//! whom; an adapter renders it (plain text and HTML, the link's base URL
//! from its configuration) and delivers it, never while a request waits.

use chrono::Duration;

use crate::recovery::RecoveryToken;
use crate::user::Email;

/// A message the use cases send.
#[derive(Clone, Debug)]
pub enum Mail {
    /// A password-reset link.
    PasswordReset {
        /// The account's address.
        to: Email,
        /// The token the link carries.
        token: RecoveryToken,
        /// How long the link works.
        valid_for: Duration,
    },
}

impl Mail {
    /// Whom it is for.
    pub fn to(&self) -> &Email {
        match self {
            Self::PasswordReset { to, .. } => to,
        }
    }

    /// What kind of message it is, for logs and metrics (`password_reset`).
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::PasswordReset { .. } => "password_reset",
        }
    }
}

/// Why a message was not accepted for delivery.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The outbox is full: the message was dropped.
    #[error("the mail outbox is full")]
    OutboxFull,
    /// The mailer has stopped.
    #[error("the mailer has stopped")]
    Stopped,
}

/// Where messages go. `send` hands the message over and returns at once:
/// delivery (and its retries) happens elsewhere, so a slow or refusing
/// mail server never holds a request.
pub trait Mailer: Send + Sync {
    /// Accepts `mail` for delivery.
    ///
    /// # Errors
    /// [`MailError`] when it cannot be accepted; nothing is sent then.
    fn send(&self, mail: Mail) -> Result<(), MailError>;
}
