//! The users file (`.db_User.json`) in both directions: a record read
//! into a [`User`], and users written back in the Flask API's structure.

use serde::Serialize;
use serde::ser::Serializer;
use std::path::Path;

use adapter_memory::Tables;
use domain::{Email, PasswordHash, User, UserId};

use super::fields::{Field, FieldName, RawRecord};
use super::objects::{count_records, parse_object, stream_object};
use super::record::{Record, record_key, timestamp_text};
use crate::error::OpenError;

/// Parses the users file.
pub(crate) fn parse_users(path: &Path, bytes: &[u8]) -> Result<Vec<User>, OpenError> {
    parse_object(path, bytes, |record| record.user())?
        .into_iter()
        .collect()
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

/// The users file's content for these tables, users in table order.
pub(crate) fn users_json(tables: &Tables) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&UsersFile(tables))
}

/// A user record as the files and the journal hold it.
pub(crate) fn user_of(path: &Path, value: &RawRecord<'_>) -> Result<User, OpenError> {
    Record::new(path, record_key(value), value)?.user()
}

impl Record<'_> {
    pub(super) fn user(&self) -> Result<User, OpenError> {
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
