//! The user entity and its identifying value objects.

use chrono::{DateTime, Utc};
use std::fmt;
use uuid::Uuid;

use crate::error::FieldError;
use crate::password::PasswordHash;

/// The longest email a new account may have, in characters (the longest
/// address SMTP can carry, RFC 5321).
pub const EMAIL_MAX: usize = 254;
/// The longest first or last name, in characters.
pub const NAME_MAX: usize = 1024;

/// Checks a text a client wants stored: at most `max` characters and no
/// NUL (which PostgreSQL cannot store).
///
/// # Errors
/// [`FieldError`] naming `field` and what is wrong.
pub fn check_storable(field: &'static str, text: &str, max: usize) -> Result<(), FieldError> {
    if text.contains('\0') {
        Err(FieldError::Nul(field))
    } else if text.chars().count() > max {
        Err(FieldError::TooLong(field, max))
    } else {
        Ok(())
    }
}

/// A user's id: a UUID, shown in its hyphenated lowercase form as the Flask
/// API wrote it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(Uuid);

impl UserId {
    /// A fresh random (v4) id.
    pub fn generate() -> Self {
        Self(Uuid::new_v4())
    }

    /// Parses an id from a path segment or a stored record: exactly the
    /// lowercase hyphenated form the Flask API wrote (it looked ids up as
    /// exact keys, so `ABC…`, braces or a `urn:uuid:` prefix name no user).
    /// `None` for any other text.
    pub fn parse(text: &str) -> Option<Self> {
        let id = Uuid::try_parse(text).ok()?;
        (id.hyphenated().to_string() == text).then_some(Self(id))
    }

    /// The UUID itself, for adapters that store it natively.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl From<Uuid> for UserId {
    fn from(value: Uuid) -> Self {
        Self(value)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({self})")
    }
}

/// An email address as the Flask API understood one: any non-empty text,
/// compared exactly (existing data may hold addresses that differ only in
/// case, and each must keep logging in).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Accepts any non-empty text; `None` for the empty string.
    pub fn parse(text: impl Into<String>) -> Option<Self> {
        let text = text.into();
        (!text.is_empty()).then_some(Self(text))
    }

    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a new account may have this address: at most
    /// [`EMAIL_MAX`] characters and no NUL. A login with any other address
    /// names no one, without asking the storage.
    ///
    /// # Errors
    /// [`FieldError`] saying what is wrong.
    pub fn check_new(&self) -> Result<(), FieldError> {
        check_storable("email", &self.0, EMAIL_MAX)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({:?})", self.0)
    }
}

/// A user account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Stable identifier.
    pub id: UserId,
    /// Login name; unique among users created by this service.
    pub email: Email,
    /// The stored password hash (Argon2id, or a legacy SHA-256 to upgrade).
    pub password_hash: PasswordHash,
    /// Optional given name.
    pub first_name: Option<String>,
    /// Optional family name.
    pub last_name: Option<String>,
    /// When the account was created (whole seconds, UTC).
    pub created_at: DateTime<Utc>,
    /// When the account last changed (whole seconds, UTC).
    pub updated_at: DateTime<Utc>,
    /// Whether the user is an administrator: under
    /// `ACCESS_POLICY=owner` only administrators see and change other
    /// users (see [`crate::access`]). The Flask API had no such flag; its
    /// users are not administrators.
    pub is_admin: bool,
}

/// A change of a user's names as `PUT /users/<id>` asks for it: a `None`
/// leaves that name as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameChange {
    /// The new given name.
    pub first_name: Option<String>,
    /// The new family name.
    pub last_name: Option<String>,
}

impl NameChange {
    /// The names a client sent, each at most [`NAME_MAX`] characters and
    /// without NUL.
    ///
    /// # Errors
    /// [`FieldError`] naming the first name that no storage could keep.
    pub fn parse(
        first_name: Option<String>,
        last_name: Option<String>,
    ) -> Result<Self, FieldError> {
        check_names(first_name.as_deref(), last_name.as_deref())?;
        Ok(Self {
            first_name,
            last_name,
        })
    }

    /// Applies the change to `user`'s names.
    pub fn apply(&self, user: &mut User) {
        if let Some(first_name) = &self.first_name {
            user.first_name = Some(first_name.clone());
        }
        if let Some(last_name) = &self.last_name {
            user.last_name = Some(last_name.clone());
        }
    }
}

/// Checks the names a client wants stored.
///
/// # Errors
/// [`FieldError`] naming the first name that no storage could keep.
pub fn check_names(first_name: Option<&str>, last_name: Option<&str>) -> Result<(), FieldError> {
    if let Some(name) = first_name {
        check_storable("first_name", name, NAME_MAX)?;
    }
    if let Some(name) = last_name {
        check_storable("last_name", name, NAME_MAX)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_canonical_spelling_of_an_id_names_a_user() {
        let id = UserId::generate();
        let text = id.to_string();
        assert_eq!(UserId::parse(&text), Some(id));
        assert_eq!(UserId::parse(&text.to_uppercase()), None);
        assert_eq!(UserId::parse(&text.replace('-', "")), None);
        assert_eq!(UserId::parse(&format!("{{{text}}}")), None);
        assert_eq!(UserId::parse(&format!("urn:uuid:{text}")), None);
    }

    #[test]
    fn new_emails_and_names_are_checked_for_what_storage_can_keep() {
        let long = format!("{}@x.io", "a".repeat(250));
        assert_eq!(
            Email::parse(long).unwrap().check_new(),
            Err(FieldError::TooLong("email", EMAIL_MAX))
        );
        assert_eq!(
            Email::parse("a\0@x.io").unwrap().check_new(),
            Err(FieldError::Nul("email"))
        );
        assert!(Email::parse("bob@x.io").unwrap().check_new().is_ok());
        assert_eq!(
            NameChange::parse(None, Some("B\0b".into())),
            Err(FieldError::Nul("last_name"))
        );
        assert_eq!(
            NameChange::parse(Some("é".repeat(NAME_MAX + 1)), None),
            Err(FieldError::TooLong("first_name", NAME_MAX))
        );
        assert!(NameChange::parse(Some("é".repeat(NAME_MAX)), None).is_ok());
    }
}
