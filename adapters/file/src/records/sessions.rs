//! The sessions file (`.db_UserSession.json`) in both directions: a
//! record read into a [`Session`] (a raw Flask token turned into its
//! digest), and sessions written back, oldest first, with their digests.

use serde::Serialize;
use serde::ser::Serializer;
use std::path::Path;

use adapter_memory::Tables;
use domain::{Session, SessionId, SessionKey, UserId};

use super::fields::{FieldName, RawRecord};
use super::objects::{count_records, parse_object, stream_object};
use super::record::{Record, record_key, timestamp_text};
use crate::error::OpenError;

/// Sessions read from a file.
pub(crate) struct LoadedSessions {
    /// Every session, in file order.
    pub sessions: Vec<Session>,
    /// How many records held a raw token (the Flask API's format) rather
    /// than its digest; the file must be rewritten to get rid of them.
    pub raw_tokens: usize,
}

/// Parses the sessions file.
pub(crate) fn parse_sessions(path: &Path, bytes: &[u8]) -> Result<LoadedSessions, OpenError> {
    let records = parse_object(path, bytes, |record| record.session())?;
    let mut loaded = LoadedSessions {
        sessions: Vec::with_capacity(records.len()),
        raw_tokens: 0,
    };
    for record in records {
        let (session, was_raw) = record?;
        loaded.sessions.push(session);
        loaded.raw_tokens += usize::from(was_raw);
    }
    Ok(loaded)
}

/// Loads the sessions file into `tables` as it parses it, each session
/// straight into the tables; how many held a raw token, `None` (and the
/// sessions half loaded) when a key is repeated, which only
/// [`parse_sessions`] handles.
pub(crate) fn stream_sessions(
    path: &Path,
    bytes: &[u8],
    tables: &mut Tables,
) -> Result<Option<usize>, OpenError> {
    tables.reserve(0, count_records(bytes));
    let mut raw_tokens = 0;
    let complete = stream_object(
        path,
        bytes,
        |record| record.session(),
        |(session, was_raw)| {
            tables.load_session(session);
            raw_tokens += usize::from(was_raw);
        },
    )?;
    Ok(complete.then_some(raw_tokens))
}

/// The sessions file's content for these tables.
pub(crate) fn sessions_json(tables: &Tables) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&SessionsFile(tables))
}

/// A session record as the files and the journal hold it.
pub(crate) fn session_of(path: &Path, value: &RawRecord<'_>) -> Result<Session, OpenError> {
    Ok(Record::new(path, record_key(value), value)?.session()?.0)
}

impl Record<'_> {
    /// The session, and whether its file held the raw token.
    pub(super) fn session(&self) -> Result<(Session, bool), OpenError> {
        let id = self.id()?;
        let id =
            SessionId::parse(id).ok_or_else(|| self.bad(format!("has id {id:?}, not a UUID")))?;
        let user_id = self.required_text(FieldName::UserId)?;
        let user_id = UserId::parse(user_id)
            .ok_or_else(|| self.bad(format!("has user_id {user_id:?}, not a UUID")))?;
        // The value is a live credential in old files: never quoted.
        let stored = self.required_text(FieldName::SessionId)?;
        let (key, was_raw) = match SessionKey::parse(stored) {
            Some(key) => (key, false),
            // The Flask API stored the cookie value itself; its digest is
            // what a client presenting that cookie is looked up by now.
            None => (SessionKey::digest_of(stored), true),
        };
        let created_at = self.timestamp(FieldName::CreatedAt)?;
        // The Flask API's records have no activity fields: a session never
        // seen in use was last used when it was created.
        let last_used_at = match self.text(FieldName::LastUsedAt)? {
            Some(_) => self.timestamp(FieldName::LastUsedAt)?,
            None => created_at,
        };
        let session = Session {
            id,
            key,
            user_id,
            created_at,
            updated_at: self.timestamp(FieldName::UpdatedAt)?,
            last_used_at,
            client_address: self.text(FieldName::ClientAddress)?.map(str::to_owned),
            user_agent: self.text(FieldName::UserAgent)?.map(str::to_owned),
        };
        Ok((session, was_raw))
    }
}

/// A session as the Flask API wrote it, except that `session_id` holds the
/// token's digest rather than the token, followed by this service's
/// activity fields (the Flask API ignored keys it did not know).
#[derive(Serialize)]
pub(crate) struct SessionRecord<'a> {
    id: String,
    created_at: String,
    updated_at: String,
    user_id: String,
    session_id: &'a str,
    last_used_at: String,
    client_address: Option<&'a str>,
    user_agent: Option<&'a str>,
}

impl<'a> From<&'a Session> for SessionRecord<'a> {
    fn from(session: &'a Session) -> Self {
        Self {
            id: session.id.to_string(),
            created_at: timestamp_text(&session.created_at),
            updated_at: timestamp_text(&session.updated_at),
            user_id: session.user_id.to_string(),
            session_id: session.key.as_str(),
            last_used_at: timestamp_text(&session.last_used_at),
            client_address: session.client_address.as_deref(),
            user_agent: session.user_agent.as_deref(),
        }
    }
}

struct SessionsFile<'a>(&'a Tables);

impl Serialize for SessionsFile<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The tables keep sessions unordered; oldest first makes the file
        // stable between writes and readable by a person.
        serializer.collect_map(
            self.0
                .sessions_oldest_first()
                .map(|session| (session.id.to_string(), SessionEntry(session))),
        )
    }
}

/// One session of the sessions file, made from the tables as it is
/// written.
struct SessionEntry(Session);

impl Serialize for SessionEntry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SessionRecord::from(&self.0).serialize(serializer)
    }
}
