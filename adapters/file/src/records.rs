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
//!
//! Here: the files' names; in the submodules, the fields a record is read
//! into, one record made into a domain value, a file's object of records
//! walked, and the users file and the sessions file each in both
//! directions.

mod fields;
mod flask_records;
mod objects;
mod record;
mod sessions;
mod users;

pub(crate) use fields::{Field, FieldName, RawRecord, Text};
pub use flask_records::FlaskRecords;
pub(crate) use flask_records::parse_each;
pub(crate) use sessions::{
    SessionRecord, parse_sessions, session_of, sessions_json, stream_sessions,
};
pub(crate) use users::{UserRecord, parse_users, stream_users, user_of, users_json};

/// The users file, named as the Flask API named it.
pub const USER_FILE: &str = ".db_User.json";

/// The sessions file, named as the Flask API named it.
pub const SESSION_FILE: &str = ".db_UserSession.json";
