//! The bounded queue between the use cases and the delivery: `send`
//! renders and queues (never waits), one background task delivers in
//! order, retrying a failed delivery after a growing pause, and gives up
//! on a message after the configured retries.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lettre::Message;
use tokio::sync::mpsc;

use domain::{Mail, MailError, Mailer};

use crate::delivery::Delivery;
use crate::templates::Templates;

/// The outbox's limits.
#[derive(Clone, Copy, Debug)]
pub struct OutboxSettings {
    /// Most messages waiting for delivery (`MAIL_QUEUE_SIZE`); more are
    /// dropped.
    pub queue_size: usize,
    /// Deliveries retried after the first failed one (`MAIL_RETRIES`).
    pub retries: u32,
    /// The pause before the first retry (`MAIL_RETRY_DELAY`), doubled
    /// before each next one.
    pub retry_delay: Duration,
}

/// What became of the messages handed to the outbox so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Delivered.
    pub delivered: u64,
    /// Given up on after every retry failed.
    pub failed: u64,
    /// Refused when handed over: the queue was full, or the message could
    /// not be rendered.
    pub dropped: u64,
}

#[derive(Default)]
struct Counters {
    delivered: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

/// The [`Mailer`]: renders, queues, and delivers in the background.
pub struct Outbox {
    templates: Templates,
    queue: mpsc::Sender<(&'static str, Message)>,
    counters: Arc<Counters>,
}

impl Outbox {
    /// An outbox delivering through `delivery`; its task runs on the
    /// current tokio runtime until the outbox is dropped and the queue
    /// drained.
    pub fn start(templates: Templates, delivery: Delivery, settings: OutboxSettings) -> Self {
        let (queue, waiting) = mpsc::channel(settings.queue_size.max(1));
        let counters = Arc::new(Counters::default());
        tokio::spawn(deliver_all(waiting, delivery, settings, counters.clone()));
        Self {
            templates,
            queue,
            counters,
        }
    }

    /// What became of the messages so far.
    pub fn counts(&self) -> OutboxCounts {
        OutboxCounts {
            delivered: self.counters.delivered.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
        }
    }

    fn drop_one(&self, kind: &str, why: &dyn std::fmt::Display) {
        self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(kind, reason = %why, "mail dropped");
    }
}

impl Mailer for Outbox {
    fn send(&self, mail: Mail) -> Result<(), MailError> {
        let kind = mail.kind();
        let message = match self.templates.render(&mail) {
            Ok(message) => message,
            Err(error) => {
                self.drop_one(kind, &error);
                // Nothing can be sent to that address: as for a full queue,
                // the request's answer does not change.
                return Ok(());
            }
        };
        self.queue
            .try_send((kind, message))
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => {
                    self.drop_one(kind, &"the outbox is full");
                    MailError::OutboxFull
                }
                mpsc::error::TrySendError::Closed(_) => {
                    self.drop_one(kind, &"the outbox has stopped");
                    MailError::Stopped
                }
            })
    }
}

/// Delivers every queued message in order, each with its retries.
async fn deliver_all(
    mut waiting: mpsc::Receiver<(&'static str, Message)>,
    delivery: Delivery,
    settings: OutboxSettings,
    counters: Arc<Counters>,
) {
    while let Some((kind, message)) = waiting.recv().await {
        let mut pause = settings.retry_delay;
        let mut attempt = 0;
        loop {
            match delivery.deliver(message.clone()).await {
                Ok(()) => {
                    counters.delivered.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(kind, "mail delivered");
                    break;
                }
                Err(error) if attempt < settings.retries => {
                    attempt += 1;
                    tracing::warn!(kind, attempt, error = %error, source = ?std::error::Error::source(&error), "mail delivery failed; will retry");
                    tokio::time::sleep(pause).await;
                    pause = pause.saturating_mul(2);
                }
                Err(error) => {
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(kind, error = %error, source = ?std::error::Error::source(&error), "mail given up after every retry");
                    break;
                }
            }
        }
    }
}
