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
//!
//! Files are parsed straight into records (no `serde_json::Value` tree):
//! each record's fields are read as borrowed text where the JSON allows it
//! and turned into its domain value at once, so the peak memory of a start
//! is little more than the file and the tables.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::Serializer;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
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
    parse_object(path, bytes, |record| record.user())?
        .into_iter()
        .collect()
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

/// Loads the users file into empty `tables` as it parses it, without a
/// list of every record in between; `false` (and `tables` half loaded)
/// when a key is repeated, which only [`parse_users`] handles.
pub(crate) fn stream_users(
    path: &Path,
    bytes: &[u8],
    tables: &mut Tables,
) -> Result<bool, OpenError> {
    let count = count_records(bytes);
    tables.reserve(count, 0);
    let mut users = Vec::with_capacity(count);
    if !stream_object(path, bytes, |record| record.user(), |user| users.push(user))? {
        return Ok(false);
    }
    tables.load_users(users);
    Ok(true)
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

/// How many records a file's top-level object holds, by a quick pass that
/// keeps nothing (0 when it is not an object or does not parse: the real
/// parse says why). Knowing it lets the tables be sized once.
fn count_records(bytes: &[u8]) -> usize {
    struct Count;
    impl<'de> Visitor<'de> for Count {
        type Value = usize;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object of records")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
            let mut count = 0;
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
                count += 1;
            }
            Ok(count)
        }
    }
    serde_json::Deserializer::from_slice(bytes)
        .deserialize_map(Count)
        .unwrap_or(0)
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
        records.users = parse_object(path, bytes, |record| record.user())?;
    }
    if let Some((path, bytes)) = sessions {
        records.sessions = parse_object(path, bytes, |record| Ok(record.session()?.0))?;
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
pub(crate) fn user_of(path: &Path, value: &RawRecord<'_>) -> Result<User, OpenError> {
    Record::new(path, record_key(value), value)?.user()
}

/// A session record as the files and the journal hold it.
pub(crate) fn session_of(path: &Path, value: &RawRecord<'_>) -> Result<Session, OpenError> {
    Ok(Record::new(path, record_key(value), value)?.session()?.0)
}

/// The record's `id` when it is text, else nothing (how a journal record,
/// which has no key of its own, is named in errors).
fn record_key<'r>(value: &'r RawRecord<'_>) -> &'r str {
    match value.0.as_ref().map(|fields| fields.get(FieldName::Id)) {
        Some(Field::Text(id)) => id,
        _ => "",
    }
}

/// Parses a file that must hold one JSON object of records, turning each
/// record into `make`'s result in file order. A key seen twice keeps its
/// first place and its last value, as a JSON object read into a map does.
/// A syntax error anywhere is reported before any bad record.
fn parse_object<T>(
    path: &Path,
    bytes: &[u8],
    make: impl FnMut(&Record<'_>) -> Result<T, OpenError>,
) -> Result<Vec<Result<T, OpenError>>, OpenError> {
    let syntax = |source: serde_json::Error| OpenError::Syntax {
        path: path.to_path_buf(),
        line: source.line(),
        column: source.column(),
        source,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = deserializer
        .deserialize_any(FileVisitor { path, make })
        .map_err(syntax)?;
    deserializer.end().map_err(syntax)?;
    parsed.ok_or_else(|| OpenError::NotAnObject {
        path: path.to_path_buf(),
    })
}

/// Parses a file that must hold one JSON object of records, handing each
/// record made by `make` to `put` in file order, and reports the first bad
/// record once the whole file is known to parse (as [`parse_object`]
/// does). `false` when a key is repeated: [`parse_object`] must then redo
/// it, since the first place and last value of that key count.
fn stream_object<T>(
    path: &Path,
    bytes: &[u8],
    make: impl FnMut(&Record<'_>) -> Result<T, OpenError>,
    put: impl FnMut(T),
) -> Result<bool, OpenError> {
    let syntax = |source: serde_json::Error| OpenError::Syntax {
        path: path.to_path_buf(),
        line: source.line(),
        column: source.column(),
        source,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = deserializer
        .deserialize_any(StreamVisitor { path, make, put })
        .map_err(syntax)?;
    deserializer.end().map_err(syntax)?;
    let Some(streamed) = parsed else {
        return Err(OpenError::NotAnObject {
            path: path.to_path_buf(),
        });
    };
    if streamed.repeated_key {
        return Ok(false);
    }
    streamed.first_error.map_or(Ok(true), Err)
}

/// What [`StreamVisitor`] found.
struct Streamed {
    first_error: Option<OpenError>,
    repeated_key: bool,
}

/// Reads a file's top-level object record by record; `None` when the file
/// The visitor methods of a file visitor for every JSON value that is not
/// an object: the file holds no records (`None`), whatever it holds.
macro_rules! not_an_object {
    () => {
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq).map(|()| None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
    };
}

/// holds another kind of JSON value.
struct StreamVisitor<'p, M, P> {
    path: &'p Path,
    make: M,
    put: P,
}

impl<'de, T, M, P> Visitor<'de> for StreamVisitor<'_, M, P>
where
    M: FnMut(&Record<'_>) -> Result<T, OpenError>,
    P: FnMut(T),
{
    type Value = Option<Streamed>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of records")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut streamed = Streamed {
            first_error: None,
            repeated_key: false,
        };
        let mut seen: HashSet<Cow<'de, str>> = HashSet::new();
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let raw: RawRecord<'de> = map.next_value()?;
            // After a bad record or a repeated key, the rest is only
            // checked for syntax.
            if streamed.repeated_key {
                continue;
            }
            let made = streamed
                .first_error
                .is_none()
                .then(|| Record::new(self.path, &key, &raw).and_then(|r| (self.make)(&r)));
            if !seen.insert(key) {
                streamed.repeated_key = true;
                continue;
            }
            match made {
                Some(Ok(value)) => (self.put)(value),
                Some(Err(e)) => streamed.first_error = Some(e),
                None => {}
            }
        }
        Ok(Some(streamed))
    }

    not_an_object!();
}

/// Reads a file's top-level object; `None` when the file holds another
/// kind of JSON value.
struct FileVisitor<'p, F> {
    path: &'p Path,
    make: F,
}

impl<'de, T, F> Visitor<'de> for FileVisitor<'_, F>
where
    F: FnMut(&Record<'_>) -> Result<T, OpenError>,
{
    type Value = Option<Vec<Result<T, OpenError>>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of records")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut records: Vec<Result<T, OpenError>> = Vec::new();
        // Where each key's record is, to honour a repeated key.
        let mut places: HashMap<Cow<'de, str>, usize> = HashMap::new();
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let raw: RawRecord<'de> = map.next_value()?;
            let made = Record::new(self.path, &key, &raw).and_then(|record| (self.make)(&record));
            match places.get(&key) {
                Some(&place) => records[place] = made,
                None => {
                    places.insert(key, records.len());
                    records.push(made);
                }
            }
        }
        Ok(Some(records))
    }

    not_an_object!();
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// JSON text, borrowed from the input unless it holds escapes.
pub(crate) struct Text<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("text")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// One field's value, as far as reading records cares: text, `null`, or
/// something else (read to check the syntax, not kept).
#[derive(Debug, Default)]
pub(crate) enum Field<'a> {
    /// The record has no such field.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// A JSON string.
    Text(Cow<'a, str>),
    /// `true` or `false`.
    Bool(bool),
    /// A number, an array or an object.
    Other,
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl<'de> Visitor<'de> for FieldVisitor {
            type Value = Field<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Field::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Field::Null)
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Owned(s)))
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
                Ok(Field::Bool(value))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Field::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Field::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Field::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq).map(|()| Field::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                drain_map(map).map(|()| Field::Other)
            }
        }
        deserializer.deserialize_any(FieldVisitor)
    }
}

/// The fields any record of the files or the journal can have.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FieldName {
    Id,
    Email,
    Password,
    FirstName,
    LastName,
    CreatedAt,
    UpdatedAt,
    UserId,
    SessionId,
    LastUsedAt,
    ClientAddress,
    UserAgent,
    /// `touch_session`'s key (journal only).
    Key,
    /// `touch_session`'s timestamp (journal only).
    At,
    /// A user's administrator flag (this service's; written only when
    /// true).
    IsAdmin,
}

impl FieldName {
    const ALL: [(&'static str, FieldName); 15] = [
        ("id", FieldName::Id),
        ("email", FieldName::Email),
        ("_password", FieldName::Password),
        ("first_name", FieldName::FirstName),
        ("last_name", FieldName::LastName),
        ("created_at", FieldName::CreatedAt),
        ("updated_at", FieldName::UpdatedAt),
        ("user_id", FieldName::UserId),
        ("session_id", FieldName::SessionId),
        ("last_used_at", FieldName::LastUsedAt),
        ("client_address", FieldName::ClientAddress),
        ("user_agent", FieldName::UserAgent),
        ("key", FieldName::Key),
        ("at", FieldName::At),
        ("is_admin", FieldName::IsAdmin),
    ];

    fn of(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, field)| *field)
    }

    pub(crate) fn name(self) -> &'static str {
        Self::ALL[self as usize].0
    }
}

/// A record's known fields; the others are checked for syntax and dropped.
#[derive(Debug, Default)]
pub(crate) struct Fields<'a>([Field<'a>; 15]);

impl<'a> Fields<'a> {
    pub(crate) fn get(&self, name: FieldName) -> &Field<'a> {
        &self.0[name as usize]
    }
}

/// A record as read: its fields, or `None` when it is not a JSON object.
#[derive(Debug, Default)]
pub(crate) struct RawRecord<'a>(pub Option<Fields<'a>>);

impl<'de> Deserialize<'de> for RawRecord<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RecordVisitor;
        impl<'de> Visitor<'de> for RecordVisitor {
            type Value = RawRecord<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Fields::default();
                while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
                    match FieldName::of(&name) {
                        // A repeated field keeps its last value.
                        Some(field) => fields.0[field as usize] = map.next_value()?,
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(RawRecord(Some(fields)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(RawRecord(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(RawRecord(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(RawRecord(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(RawRecord(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(RawRecord(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(RawRecord(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq).map(|()| RawRecord(None))
            }
        }
        deserializer.deserialize_any(RecordVisitor)
    }
}

/// One record of a file, with what is needed to say what is wrong with it.
pub(crate) struct Record<'r> {
    path: &'r Path,
    key: &'r str,
    fields: &'r Fields<'r>,
}

impl<'r> Record<'r> {
    fn new(path: &'r Path, key: &'r str, value: &'r RawRecord<'_>) -> Result<Self, OpenError> {
        let Some(fields) = &value.0 else {
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
    fn text(&self, name: FieldName) -> Result<Option<&'r str>, OpenError> {
        match self.fields.get(name) {
            Field::Absent | Field::Null => Ok(None),
            Field::Text(s) => Ok(Some(&**s)),
            Field::Bool(_) | Field::Other => Err(self.bad(format!(
                "has a {} that is neither text nor null",
                name.name()
            ))),
        }
    }

    fn required_text(&self, name: FieldName) -> Result<&'r str, OpenError> {
        match self.text(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => Err(self.bad(format!("has an empty {}", name.name()))),
            None => Err(self.bad(format!("has no {}", name.name()))),
        }
    }

    /// The record's id: its `id` field, or its key when the field is absent
    /// (the Flask API looked records up by key).
    fn id(&self) -> Result<&'r str, OpenError> {
        match self.text(FieldName::Id)? {
            None => Ok(self.key),
            Some(id) if id == self.key => Ok(id),
            // Which one the Flask API's clients used depended on the code
            // path; guessing could attach sessions to the wrong user.
            Some(id) => Err(self.bad(format!("has id {id:?}, which differs from its key"))),
        }
    }

    fn timestamp(&self, name: FieldName) -> Result<DateTime<Utc>, OpenError> {
        let text = self.required_text(name)?;
        if let Some(t) = plain_timestamp(text) {
            return Ok(t.and_utc());
        }
        NaiveDateTime::parse_from_str(text, TIMESTAMP_READ_FORMAT)
            .map(|t| truncate_to_seconds(t.and_utc()))
            .map_err(|_| {
                self.bad(format!(
                    "has {} {text:?}, which is not a timestamp YYYY-MM-DDTHH:MM:SS",
                    name.name()
                ))
            })
    }

    fn user(&self) -> Result<User, OpenError> {
        let id = self.id()?;
        let id = UserId::parse(id).ok_or_else(|| self.bad(format!("has id {id:?}, not a UUID")))?;
        let email = Email::parse(self.required_text(FieldName::Email)?)
            .ok_or_else(|| self.bad("has an empty email"))?;
        // The Flask API stored `null` for a user created without a password;
        // such a user exists but cannot log in. The hash's value is never
        // quoted: it is a secret.
        let password_hash = match self.text(FieldName::Password)? {
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
            first_name: self.text(FieldName::FirstName)?.map(str::to_owned),
            last_name: self.text(FieldName::LastName)?.map(str::to_owned),
            created_at: self.timestamp(FieldName::CreatedAt)?,
            updated_at: self.timestamp(FieldName::UpdatedAt)?,
            is_admin: match self.fields.get(FieldName::IsAdmin) {
                Field::Absent | Field::Null => false,
                Field::Bool(is_admin) => *is_admin,
                Field::Text(_) | Field::Other => {
                    return Err(self.bad("has an is_admin that is neither true, false nor null"));
                }
            },
        })
    }

    /// The session, and whether its file held the raw token.
    fn session(&self) -> Result<(Session, bool), OpenError> {
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

/// `YYYY-MM-DDTHH:MM:SS` exactly (what this service and the Flask API
/// write), read without chrono's format interpreter, which dominates a
/// large file's parse; `None` for anything else (a fractional part, a leap
/// second, an invalid date...), which the general parse then handles.
fn plain_timestamp(text: &str) -> Option<NaiveDateTime> {
    let b: &[u8; 19] = text.as_bytes().try_into().ok()?;
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| {
        b[range].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(number(0..4)?).ok()?;
    chrono::NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)?.and_hms_opt(
        number(11..13)?,
        number(14..16)?,
        number(17..19)?,
    )
}

fn timestamp_text(t: &DateTime<Utc>) -> String {
    t.format(TIMESTAMP_FORMAT).to_string()
}

/// A user as the Flask API wrote it, keys in its order, and `"is_admin":
/// true` after them for an administrator only: the Flask API ignored keys
/// it did not know, and a file without administrators stays exactly the
/// Flask API's.
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
    #[serde(skip_serializing_if = "is_false")]
    is_admin: bool,
}

/// serde's `skip_serializing_if` passes a reference.
fn is_false(value: &bool) -> bool {
    !*value
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
            is_admin: user.is_admin,
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

#[cfg(test)]
mod timestamp_tests {
    use super::*;

    #[test]
    fn the_plain_timestamp_reader_agrees_with_chrono_or_leaves_it_to_chrono() {
        for text in [
            "2024-01-01T00:00:00",
            "1999-12-31T23:59:59",
            "2024-02-29T12:34:56",
            "2023-02-29T12:34:56",
            "2024-13-01T00:00:00",
            "2024-01-01T24:00:00",
            "2024-06-30T23:59:60",
            "2024-01-01T00:00:00.5",
            "2024-01-01 00:00:00",
            "2024-01-01T00:00:0x",
            "+024-01-01T00:00:00",
            "0000-01-01T00:00:00",
        ] {
            let chrono = NaiveDateTime::parse_from_str(text, TIMESTAMP_READ_FORMAT).ok();
            if let Some(plain) = plain_timestamp(text) {
                assert_eq!(Some(plain), chrono, "{text}");
            }
        }
        assert!(plain_timestamp("2024-01-01T00:00:00").is_some());
    }
}
