//! The audit trail as log lines: [`TracingAudit`] writes each security
//! event the use cases emit as one `security event` line on the
//! [`SECURITY_TARGET`], with an `event` field naming it, the `actor`
//! (`user:<id>`, `operator`, `anonymous`), the client's address and the
//! request id when the action came over the network, and the event's own
//! fields. The server and the command line both write through it, so a
//! change made at either door leaves the same line. No event carries a
//! secret, so no line can.

use domain::{Actor, AuditEvent, AuditLog};

/// The log target of the security events.
pub const SECURITY_TARGET: &str = "session_auth::security";

/// Writes security events as log lines through `tracing`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingAudit;

/// One line: the fields every event has, then the event's own.
macro_rules! line {
    ($actor:expr, $event:expr $(, $($field:tt)*)?) => {
        tracing::info!(
            target: SECURITY_TARGET,
            event = $event.name(),
            actor = %$actor.label(),
            client = $actor.address(),
            request_id = $actor.request_id()
            $(, $($field)*)?,
            "security event"
        )
    };
}

impl AuditLog for TracingAudit {
    fn record(&self, actor: &Actor, event: AuditEvent) {
        // The acting user's id, as the lines had it before `actor` existed.
        let by = actor.user().map(|user| user.id.to_string());
        match &event {
            AuditEvent::LoginSucceeded { user }
            | AuditEvent::Logout { user }
            | AuditEvent::PasswordChangeFailed { user } => line!(actor, event, user_id = %user),
            AuditEvent::LoginFailed { via, email, reason } => line!(
                actor,
                event,
                via = via.as_str(),
                email = email.as_deref(),
                reason = reason.as_str()
            ),
            AuditEvent::LoginThrottled { via, email, user } => line!(
                actor,
                event,
                via = via.as_str(),
                email = email.as_deref(),
                user_id = user.map(|id| id.to_string())
            ),
            AuditEvent::SessionsRevoked { user, ended } => {
                line!(actor, event, user_id = %user, ended = *ended);
            }
            AuditEvent::PasswordChanged {
                user,
                sessions_ended,
            } => line!(
                actor,
                event,
                user_id = %user,
                sessions_ended = *sessions_ended,
                other_sessions_ended = true
            ),
            AuditEvent::UserCreated { user, is_admin } => {
                line!(actor, event, user_id = %user, is_admin = *is_admin, by = by);
            }
            AuditEvent::UserDeleted { user } => line!(actor, event, user_id = %user, by = by),
            AuditEvent::UserPromoted { user } => {
                line!(actor, event, user_id = %user, is_admin = true, by = by);
            }
            AuditEvent::UserDemoted { user } => {
                line!(actor, event, user_id = %user, is_admin = false, by = by);
            }
            AuditEvent::RegistrationThrottled => line!(actor, event),
            AuditEvent::AdminRefused { action } => line!(actor, event, action = *action, by = by),
            AuditEvent::PasswordResetRequested { user } => {
                line!(actor, event, user_id = user.map(|id| id.to_string()))
            }
            AuditEvent::PasswordReset {
                user,
                sessions_ended,
            } => line!(
                actor,
                event,
                user_id = %user,
                sessions_ended = *sessions_ended
            ),
            AuditEvent::PasswordResetThrottled | AuditEvent::PasswordResetRefused => {
                line!(actor, event);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(record: impl FnOnce()) -> String {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, record);
        String::from_utf8(sink.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn an_operators_event_names_the_operator_and_its_subject() {
        let user = domain::UserId::generate();
        let out =
            logged(|| TracingAudit.record(&Actor::operator(), AuditEvent::UserDeleted { user }));
        assert!(out.contains(r#""event":"user_deleted""#), "{out}");
        assert!(out.contains(r#""actor":"operator""#), "{out}");
        assert!(out.contains(&format!(r#""user_id":"{user}""#)), "{out}");
        assert!(out.contains(SECURITY_TARGET), "{out}");
    }

    #[test]
    fn a_requests_event_carries_its_client_and_request_id() {
        let actor = Actor {
            client: domain::ClientInfo {
                address: Some("192.0.2.1".into()),
                user_agent: None,
                request_id: Some("req-9".into()),
            },
            ..Actor::default()
        };
        let out = logged(|| {
            TracingAudit.record(
                &actor,
                AuditEvent::LoginFailed {
                    via: domain::Via::Form,
                    email: Some("bob@x.io".into()),
                    reason: "wrong password".into(),
                },
            );
        });
        for field in [
            r#""event":"login_failed""#,
            r#""actor":"anonymous""#,
            r#""client":"192.0.2.1""#,
            r#""request_id":"req-9""#,
            r#""via":"form""#,
            r#""email":"bob@x.io""#,
        ] {
            assert!(out.contains(field), "{field} missing: {out}");
        }
    }
}
