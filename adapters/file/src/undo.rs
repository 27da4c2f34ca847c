//! Undoing a change applied to the tables that could not be made
//! durable: the inverse of each journal operation.

use chrono::{DateTime, Utc};

use adapter_memory::Tables;
use domain::{Session, SessionKey, User, UserId};

use crate::journal::Op;

/// The inverse of one applied [`Op`].
pub(crate) enum Undo {
    Nothing,
    RemoveUser(UserId),
    RestoreUser(User),
    Reinsert {
        position: u64,
        user: User,
        sessions: Vec<Session>,
    },
    RemoveSession(SessionKey),
    RestoreSession(Session),
    Touch(SessionKey, DateTime<Utc>),
}

impl Undo {
    pub(crate) fn apply(self, tables: &mut Tables) {
        match self {
            Undo::Nothing => {}
            Undo::RemoveUser(id) => {
                tables.delete_user(&id);
            }
            Undo::RestoreUser(user) => tables.restore_user(user),
            Undo::Reinsert {
                position,
                user,
                sessions,
            } => {
                tables.reinsert_user(position, user);
                for session in sessions {
                    tables.load_session(session);
                }
            }
            Undo::RemoveSession(key) => {
                tables.delete_session(&key);
            }
            Undo::RestoreSession(session) => tables.load_session(session),
            Undo::Touch(key, at) => {
                tables.touch_session(&key, at);
            }
        }
    }
}

/// Applies `op`, returning its inverse.
pub(crate) fn apply_undoable(tables: &mut Tables, op: Op) -> Undo {
    let undo = match &op {
        Op::PutUser(user) => tables
            .user(&user.id)
            .cloned()
            .map_or(Undo::RemoveUser(user.id), Undo::RestoreUser),
        Op::DeleteUser(id) => match (tables.position_of(id), tables.user(id)) {
            (Some(position), Some(user)) => Undo::Reinsert {
                position,
                user: user.clone(),
                sessions: tables.sessions_of(id),
            },
            _ => Undo::Nothing,
        },
        Op::PutSession(session) => tables.session(&session.key).map_or(
            Undo::RemoveSession(session.key.clone()),
            Undo::RestoreSession,
        ),
        Op::DeleteSession(key) => tables
            .session(key)
            .map_or(Undo::Nothing, Undo::RestoreSession),
        Op::TouchSession(key, _) => tables
            .session(key)
            .map_or(Undo::Nothing, |s| Undo::Touch(key.clone(), s.last_used_at)),
    };
    op.apply(tables);
    undo
}
