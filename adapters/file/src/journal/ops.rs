//! The journal's operations (one change to one record each), how one is
//! applied to the tables, and how a port call's operations are encoded as
//! one checksummed entry.

use chrono::{DateTime, Utc};
use serde::Serialize;

use adapter_memory::Tables;
use domain::{Session, SessionKey, TIMESTAMP_FORMAT, User, UserId};

use crate::records::{SessionRecord, UserRecord};

/// One change to one record.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// The user with this id is now exactly this.
    PutUser(User),
    /// The user and their sessions are gone.
    DeleteUser(UserId),
    /// The session with this key is now exactly this.
    PutSession(Session),
    /// The session with this key is gone.
    DeleteSession(SessionKey),
    /// The session with this key (if any) was last used then.
    TouchSession(SessionKey, DateTime<Utc>),
}

impl Op {
    /// Whether it changes the users file, the sessions file (deleting a
    /// user changes the sessions file only when the user had sessions,
    /// which this does not know).
    pub(crate) fn files(&self) -> (bool, bool) {
        match self {
            Op::PutUser(_) | Op::DeleteUser(_) => (true, false),
            Op::PutSession(_) | Op::DeleteSession(_) | Op::TouchSession(..) => (false, true),
        }
    }

    /// Applies the operation; never refuses (see [`Tables::restore_user`]).
    pub(crate) fn apply(self, tables: &mut Tables) {
        match self {
            Op::PutUser(user) => tables.restore_user(user),
            Op::DeleteUser(id) => {
                tables.delete_user(&id);
            }
            Op::PutSession(session) => tables.load_session(session),
            Op::DeleteSession(key) => {
                tables.delete_session(&key);
            }
            Op::TouchSession(key, at) => {
                tables.touch_session(&key, at);
            }
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum OpRecord<'a> {
    PutUser(UserRecord<'a>),
    DeleteUser(String),
    PutSession(SessionRecord<'a>),
    DeleteSession(&'a str),
    TouchSession { key: &'a str, at: String },
}

impl<'a> From<&'a Op> for OpRecord<'a> {
    fn from(op: &'a Op) -> Self {
        match op {
            Op::PutUser(user) => OpRecord::PutUser(UserRecord::from(user)),
            Op::DeleteUser(id) => OpRecord::DeleteUser(id.to_string()),
            Op::PutSession(session) => OpRecord::PutSession(SessionRecord::from(session)),
            Op::DeleteSession(key) => OpRecord::DeleteSession(key.as_str()),
            Op::TouchSession(key, at) => OpRecord::TouchSession {
                key: key.as_str(),
                at: at.format(TIMESTAMP_FORMAT).to_string(),
            },
        }
    }
}

/// Appends the entry for `ops` to `out`.
pub(crate) fn encode(ops: &[Op], out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    let records: Vec<OpRecord<'_>> = ops.iter().map(OpRecord::from).collect();
    let json = serde_json::to_vec(&records)?;
    out.extend_from_slice(format!("{:08x} ", crc32(&json)).as_bytes());
    out.extend_from_slice(&json);
    out.push(b'\n');
    Ok(())
}

/// CRC-32 (IEEE), enough to tell a torn or damaged entry from a whole one.
pub(super) fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}
