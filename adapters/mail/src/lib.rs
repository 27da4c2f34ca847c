//! The [`Mailer`](domain::Mailer) port's adapter: each message the use
//! cases send is rendered from its template, as plain text and HTML with
//! the link's base URL from the configuration ([`Templates`]), put in a
//! bounded queue ([`Outbox`]) and delivered by a background task, with
//! retries, through SMTP (STARTTLS, implicit TLS or none; authentication;
//! a timeout on every exchange) or into a folder, one file per message
//! ([`Delivery`]). A request only renders and queues: a slow, refusing or
//! silent mail server never holds it, and a full queue drops the message
//! (counted, logged) rather than wait.

mod delivery;
mod outbox;
mod templates;

pub use delivery::{Delivery, DeliveryError, SmtpSecurity, SmtpSettings};
/// A sender or recipient (`Name <address>`), as [`Templates`] takes it.
pub use lettre::message::Mailbox;
pub use outbox::{Outbox, OutboxCounts, OutboxSettings};
pub use templates::{RenderError, Templates};
