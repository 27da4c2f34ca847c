//! The user entity and its identifying value objects.

use chrono::{DateTime, Utc};
use std::fmt;
use uuid::Uuid;

use crate::password::PasswordHash;

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
}
