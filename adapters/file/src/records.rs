//! The Flask API's record format: `.db_User.json` and `.db_UserSession.json`
//! read into domain values, and domain values written back in the same
//! structure.
//!
//! Reading is strict about what it cannot use (a record that would have to
//! be dropped stops the start instead, since the next write would lose it)
//! and lenient about what the Flask API itself accepted: an absent `id`
//! falls back to the record's key, absent names are `null`, timestamps may
//! carry a fractional part, and a raw session token is turned into its
//! digest.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde::ser::Serializer;
use serde_json::{Map, Value};
use std::path::Path;

use adapter_memory::Tables;
use domain::{
    Email, PasswordHash, Session, SessionId, SessionKey, TIMESTAMP_FORMAT, User, UserId,
    truncate_to_seconds,
};

use crate::error::OpenError;

/// The users file, named as the Flask API named it.
pub const USER_FILE: &str = ".db_User.json";

/// The sessions file, named as the Flask API named it.
pub const SESSION_FILE: &str = ".db_UserSession.json";

/// The timestamp format accepted when reading: the Flask format with an
/// optional fractional part (`%.f` also matches nothing).
const TIMESTAMP_READ_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f";

/// Sessions read from a file.
pub(crate) struct LoadedSessions {
    /// Every session, in file order.
    pub sessions: Vec<Session>,
    /// How many records held a raw token (the Flask API's format) rather
    /// than its digest; the file must be rewritten to get rid of them.
    pub raw_tokens: usize,
}

/// Parses the users file.
pub(crate) fn parse_users(path: &Path, bytes: &[u8]) -> Result<Vec<User>, OpenError> {
    parse_object(path, bytes)?
        .iter()
        .map(|(key, value)| Record::new(path, key, value)?.user())
        .collect()
}

/// Parses the sessions file.
pub(crate) fn parse_sessions(path: &Path, bytes: &[u8]) -> Result<LoadedSessions, OpenError> {
    let mut loaded = LoadedSessions {
        sessions: Vec::new(),
        raw_tokens: 0,
    };
    for (key, value) in &parse_object(path, bytes)? {
        let (session, was_raw) = Record::new(path, key, value)?.session()?;
        loaded.sessions.push(session);
        loaded.raw_tokens += usize::from(was_raw);
    }
    Ok(loaded)
}

/// Every record of a Flask data folder, each parsed on its own so one bad
/// record does not hide the others (what `session-auth import` needs).
#[derive(Debug, Default)]
pub struct FlaskRecords {
    /// The users file's records, in file order.
    pub users: Vec<Result<User, OpenError>>,
    /// The sessions file's records, in file order.
    pub sessions: Vec<Result<Session, OpenError>>,
}

/// Parses each record of the users file and the sessions file.
pub(crate) fn parse_each(
    users: Option<(&Path, &[u8])>,
    sessions: Option<(&Path, &[u8])>,
) -> Result<FlaskRecords, OpenError> {
    let mut records = FlaskRecords::default();
    if let Some((path, bytes)) = users {
        records.users = parse_object(path, bytes)?
            .iter()
            .map(|(key, value)| Record::new(path, key, value)?.user())
            .collect();
    }
    if let Some((path, bytes)) = sessions {
        records.sessions = parse_object(path, bytes)?
            .iter()
            .map(|(key, value)| Ok(Record::new(path, key, value)?.session()?.0))
            .collect();
    }
    Ok(records)
}

/// The users file's content for these tables, users in table order.
pub(crate) fn users_json(tables: &Tables) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&UsersFile(tables))
}

/// The sessions file's content for these tables.
pub(crate) fn sessions_json(tables: &Tables) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&SessionsFile(tables))
}

/// A user record as the files and the journal hold it.
pub(crate) fn user_of(path: &Path, value: &Value) -> Result<User, OpenError> {
    Record::new(path, record_key(value), value)?.user()
}

/// A session record as the files and the journal hold it.
pub(crate) fn session_of(path: &Path, value: &Value) -> Result<Session, OpenError> {
    Ok(Record::new(path, record_key(value), value)?.session()?.0)
}

fn record_key(value: &Value) -> &str {
    value.get("id").and_then(Value::as_str).unwrap_or_default()
}

fn parse_object(path: &Path, bytes: &[u8]) -> Result<Map<String, Value>, OpenError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(OpenError::NotAnObject {
            path: path.to_path_buf(),
        }),
        Err(source) => Err(OpenError::Syntax {
            path: path.to_path_buf(),
            line: source.line(),
            column: source.column(),
            source,
        }),
    }
}

/// One record of a file, with what is needed to say what is wrong with it.
struct Record<'a> {
    path: &'a Path,
    key: &'a str,
    fields: &'a Map<String, Value>,
}

impl<'a> Record<'a> {
    fn new(path: &'a Path, key: &'a str, value: &'a Value) -> Result<Self, OpenError> {
        let Value::Object(fields) = value else {
            return Err(OpenError::BadRecord {
                path: path.to_path_buf(),
                record: key.to_owned(),
                problem: "is not a JSON object".to_owned(),
            });
        };
        Ok(Self { path, key, fields })
    }

    fn bad(&self, problem: impl Into<String>) -> OpenError {
        OpenError::BadRecord {
            path: self.path.to_path_buf(),
            record: self.key.to_owned(),
            problem: problem.into(),
        }
    }

    /// A text field; `None` when absent or `null`.
    fn text(&self, name: &str) -> Result<Option<&'a str>, OpenError> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.bad(format!("has a {name} that is neither text nor null"))),
        }
    }

    fn required_text(&self, name: &str) -> Result<&'a str, OpenError> {
        match self.text(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => Err(self.bad(format!("has an empty {name}"))),
            None => Err(self.bad(format!("has no {name}"))),
        }
    }

    /// The record's id: its `id` field, or its key when the field is absent
    /// (the Flask API looked records up by key).
    fn id(&self) -> Result<&'a str, OpenError> {
        match self.text("id")? {
            None => Ok(self.key),
            Some(id) if id == self.key => Ok(id),
            // Which one the Flask API's clients used depended on the code
            // path; guessing could attach sessions to the wrong user.
            Some(id) => Err(self.bad(format!("has id {id:?}, which differs from its key"))),
        }
    }

    fn timestamp(&self, name: &str) -> Result<DateTime<Utc>, OpenError> {
        let text = self.required_text(name)?;
        NaiveDateTime::parse_from_str(text, TIMESTAMP_READ_FORMAT)
            .map(|t| truncate_to_seconds(t.and_utc()))
            .map_err(|_| {
                self.bad(format!(
                    "has {name} {text:?}, which is not a timestamp YYYY-MM-DDTHH:MM:SS"
                ))
            })
    }

    fn user(&self) -> Result<User, OpenError> {
        let id = self.id()?;
        let id = UserId::parse(id).ok_or_else(|| self.bad(format!("has id {id:?}, not a UUID")))?;
        let email = Email::parse(self.required_text("email")?)
            .ok_or_else(|| self.bad("has an empty email"))?;
        // The Flask API stored `null` for a user created without a password;
        // such a user exists but cannot log in. The hash's value is never
        // quoted: it is a secret.
        let password_hash = match self.text("_password")? {
            None => PasswordHash::Unusable,
            Some(text) => PasswordHash::parse(text).map_err(|_| {
                self.bad(
                    "has a _password that is neither null, a SHA-256 hex digest \
                     nor an Argon2id PHC string",
                )
            })?,
        };
        Ok(User {
            id,
            email,
            password_hash,
            first_name: self.text("first_name")?.map(str::to_owned),
            last_name: self.text("last_name")?.map(str::to_owned),
            created_at: self.timestamp("created_at")?,
            updated_at: self.timestamp("updated_at")?,
        })
    }

    /// The session, and whether its file held the raw token.
    fn session(&self) -> Result<(Session, bool), OpenError> {
        let id = self.id()?;
        let id =
            SessionId::parse(id).ok_or_else(|| self.bad(format!("has id {id:?}, not a UUID")))?;
        let user_id = self.required_text("user_id")?;
        let user_id = UserId::parse(user_id)
            .ok_or_else(|| self.bad(format!("has user_id {user_id:?}, not a UUID")))?;
        // The value is a live credential in old files: never quoted.
        let stored = self.required_text("session_id")?;
        let (key, was_raw) = match SessionKey::parse(stored) {
            Some(key) => (key, false),
            // The Flask API stored the cookie value itself; its digest is
            // what a client presenting that cookie is looked up by now.
            None => (SessionKey::digest_of(stored), true),
        };
        let created_at = self.timestamp("created_at")?;
        // The Flask API's records have no activity fields: a session never
        // seen in use was last used when it was created.
        let last_used_at = match self.text("last_used_at")? {
            Some(_) => self.timestamp("last_used_at")?,
            None => created_at,
        };
        let session = Session {
            id,
            key,
            user_id,
            created_at,
            updated_at: self.timestamp("updated_at")?,
            last_used_at,
            client_address: self.text("client_address")?.map(str::to_owned),
            user_agent: self.text("user_agent")?.map(str::to_owned),
        };
        Ok((session, was_raw))
    }
}

fn timestamp_text(t: &DateTime<Utc>) -> String {
    t.format(TIMESTAMP_FORMAT).to_string()
}

/// A user as the Flask API wrote it, keys in its order.
#[derive(Serialize)]
pub(crate) struct UserRecord<'a> {
    id: String,
    created_at: String,
    updated_at: String,
    email: &'a str,
    #[serde(rename = "_password")]
    password: Option<&'a str>,
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
}

impl<'a> From<&'a User> for UserRecord<'a> {
    fn from(user: &'a User) -> Self {
        Self {
            id: user.id.to_string(),
            created_at: timestamp_text(&user.created_at),
            updated_at: timestamp_text(&user.updated_at),
            email: user.email.as_str(),
            password: user.password_hash.as_stored(),
            first_name: user.first_name.as_deref(),
            last_name: user.last_name.as_deref(),
        }
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

struct UsersFile<'a>(&'a Tables);

impl Serialize for UsersFile<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            self.0
                .users()
                .map(|user| (user.id.to_string(), UserRecord::from(user))),
        )
    }
}

struct SessionsFile<'a>(&'a Tables);

impl Serialize for SessionsFile<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The tables keep sessions unordered; oldest first makes the file
        // stable between writes and readable by a person.
        let mut sessions: Vec<&Session> = self.0.sessions().collect();
        sessions.sort_by_key(|s| (s.created_at, s.id.as_uuid()));
        serializer.collect_map(
            sessions
                .into_iter()
                .map(|session| (session.id.to_string(), SessionRecord::from(session))),
        )
    }
}
