//! What a notification on the channel says (a change, a ping, a fence,
//! an acknowledgement), and the statement that sends one.

use sea_orm::{DbBackend, Statement};
use uuid::Uuid;

/// The channel the triggers, pings, fences and acknowledgements use.
pub(super) const CHANNEL: &str = "session_auth_changes";

/// What a notification says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Change<'a> {
    /// The session under this digest changed or is gone.
    Session(&'a str),
    /// The user with this id changed or is gone.
    User(Uuid),
    /// Anything may have changed.
    Everything,
    /// A cache's ping number `seq`, sent at `sent` (its own milliseconds),
    /// in the statement that set its row's `seq` to that number.
    Ping { from: Uuid, sent: u64, seq: u64 },
    /// A cache's probe: notified without touching its row, to learn
    /// whether its listener hears at all.
    Probe { from: Uuid },
    /// A process's fence after a change: acknowledge it.
    Fence { origin: Uuid, number: u64 },
    /// A cache acknowledging a fence.
    Ack {
        origin: Uuid,
        number: u64,
        from: Uuid,
    },
}

impl<'a> Change<'a> {
    /// Reads a payload; anything unknown empties the cache, to be safe.
    pub(crate) fn parse(payload: &'a str) -> Self {
        Self::try_parse(payload).unwrap_or(Change::Everything)
    }

    fn try_parse(payload: &'a str) -> Option<Self> {
        let (kind, rest) = payload.split_at_checked(1)?;
        let mut parts = rest.split(':');
        let mut uuid = || parts.next().and_then(|p| Uuid::parse_str(p).ok());
        Some(match kind {
            "s" => Change::Session(rest),
            "u" => Change::User(Uuid::parse_str(rest).ok()?),
            "*" if rest.is_empty() => Change::Everything,
            "p" => {
                let from = uuid()?;
                let sent = parts.next()?.parse().ok()?;
                // Pings of builds before the sequence carry none: only
                // their sender cares, and it reads its own kind.
                let seq = match parts.next() {
                    Some(seq) => seq.parse().ok()?,
                    None => 0,
                };
                Change::Ping { from, sent, seq }
            }
            "q" => Change::Probe { from: uuid()? },
            "f" => {
                let origin = uuid()?;
                Change::Fence {
                    origin,
                    number: parts.next()?.parse().ok()?,
                }
            }
            "a" => {
                let origin = uuid()?;
                let number = parts.next()?.parse().ok()?;
                let from = parts.next().and_then(|p| Uuid::parse_str(p).ok())?;
                Change::Ack {
                    origin,
                    number,
                    from,
                }
            }
            _ => return None,
        })
    }
}

/// `SELECT pg_notify(CHANNEL, payload)`.
pub(super) fn notify(payload: String) -> Statement {
    Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), payload.into()],
    )
}
