//! Where a rendered message goes: an SMTP server (lettre over tokio, TLS
//! by rustls), or a folder with one `.eml` file per message.

use std::path::PathBuf;
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How the SMTP connection is protected (`SMTP_TLS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// STARTTLS, required: the connection is upgraded before anything is
    /// sent, or nothing is (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS: only for a relay on the same host or a test server.
    None,
}

/// An SMTP server and how to talk to it.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    /// Host name (also the name its certificate must carry).
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS.
    pub security: SmtpSecurity,
    /// User name and password, when the server wants them.
    pub credentials: Option<(String, String)>,
    /// The longest one delivery may take, from connecting to the server's
    /// last reply.
    pub timeout: Duration,
}

/// A message could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The SMTP exchange failed (refused, timed out, rejected).
    #[error("SMTP delivery failed")]
    Smtp(#[source] lettre::transport::smtp::Error),
    /// The file could not be written.
    #[error("the message file could not be written")]
    File(#[source] lettre::transport::file::Error),
    /// The server took longer than the timeout (it may never answer).
    #[error("the SMTP server did not finish within {0:?}")]
    TimedOut(Duration),
    /// The TLS settings are unusable (a host name that is no server name).
    #[error("the SMTP TLS settings are unusable")]
    Tls(#[source] lettre::transport::smtp::Error),
}

/// Where messages are delivered.
#[derive(Clone)]
pub enum Delivery {
    /// An SMTP server, and the longest a delivery to it may take.
    Smtp(AsyncSmtpTransport<Tokio1Executor>, Duration),
    /// A folder: each message becomes `<uuid>.eml` in it.
    Folder(AsyncFileTransport<Tokio1Executor>),
}

impl Delivery {
    /// Delivery through the SMTP server `settings` names. Nothing is
    /// contacted until the first message.
    ///
    /// # Errors
    /// [`DeliveryError::Tls`] when TLS is asked for and the host is no
    /// server name.
    pub fn smtp(settings: &SmtpSettings) -> Result<Self, DeliveryError> {
        let tls = || TlsParameters::new(settings.host.clone()).map_err(DeliveryError::Tls);
        let tls = match settings.security {
            SmtpSecurity::StartTls => Tls::Required(tls()?),
            SmtpSecurity::Implicit => Tls::Wrapper(tls()?),
            SmtpSecurity::None => Tls::None,
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.clone())
                .port(settings.port)
                .tls(tls)
                .timeout(Some(settings.timeout));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self::Smtp(builder.build(), settings.timeout))
    }

    /// Delivery into `folder` (which must exist), one file per message.
    pub fn folder(folder: impl Into<PathBuf>) -> Self {
        Self::Folder(AsyncFileTransport::<Tokio1Executor>::new(folder.into()))
    }

    /// Delivers `message` once.
    ///
    /// # Errors
    /// [`DeliveryError`] saying what failed.
    pub async fn deliver(&self, message: Message) -> Result<(), DeliveryError> {
        match self {
            // lettre's own timeout covers connecting and commands, not the
            // wait for the server's greeting: a server that accepts and
            // stays silent would hold the queue for ever without this one.
            Self::Smtp(smtp, timeout) => tokio::time::timeout(*timeout, smtp.send(message))
                .await
                .map_err(|_| DeliveryError::TimedOut(*timeout))?
                .map(drop)
                .map_err(DeliveryError::Smtp),
            Self::Folder(folder) => folder
                .send(message)
                .await
                .map(drop)
                .map_err(DeliveryError::File),
        }
    }
}
