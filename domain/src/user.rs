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

/// An email address as the Flask API understood one: any non-empty text.
///
/// Addresses are compared ignoring ASCII case ([`Email::folded`]) for
/// logins and uniqueness; existing data may still hold addresses that
/// differ only in case, and each must keep logging in (see
/// [`Email::pick`]). Only a new account's address must pass
/// [`Email::check_new`].
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

    /// The address with ASCII letters in lower case: the key under which
    /// addresses are compared. Only ASCII is folded (`É` stays `É`), as
    /// SQLite's `lower()` and PostgreSQL's under the `C` collation do, so
    /// every storage compares alike; domain names are ASCII on the wire
    /// (internationalised ones travel as punycode).
    pub fn folded(&self) -> std::borrow::Cow<'_, str> {
        fold(&self.0)
    }

    /// Whether `other` is this address ignoring ASCII case.
    pub fn matches(&self, other: &Email) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }

    /// The user a login with this address names, among `candidates`: the
    /// users whose address equals it ignoring ASCII case, in the order
    /// the storage holds them. The rule for data holding addresses that
    /// differ only in case: an exact match wins (the first one, for the
    /// Flask API's exact duplicates); otherwise the single user that
    /// matches ignoring case; otherwise (two or more) no one.
    pub fn pick<'a, U: std::borrow::Borrow<User> + 'a>(
        &self,
        candidates: impl IntoIterator<Item = &'a U>,
    ) -> Option<&'a U> {
        let mut only = None;
        let mut count = 0usize;
        for candidate in candidates {
            let email = &candidate.borrow().email;
            if email == self {
                return Some(candidate);
            }
            if email.matches(self) {
                count += 1;
                only = Some(candidate);
            }
        }
        (count == 1).then_some(only).flatten()
    }

    /// Whether a login with this address can name anyone: at most
    /// [`EMAIL_MAX`] characters and no NUL. A login with any other
    /// address names no one, without asking the storage.
    ///
    /// # Errors
    /// [`FieldError`] saying what is wrong.
    pub fn check_storable(&self) -> Result<(), FieldError> {
        check_storable("email", &self.0, EMAIL_MAX)
    }

    /// Whether a new account may have this address: storable (see
    /// [`Email::check_storable`]) and of the permissive syntax below.
    /// Existing data is never held to it (the Flask API stored any text).
    ///
    /// The syntax: exactly one `@`; a non-empty local part before it and
    /// a non-empty domain after it; no whitespace or control character
    /// anywhere; no empty label in the domain (no leading, trailing or
    /// doubled `.`). Nothing more: quoted local parts holding `@` are
    /// refused, and a domain without a dot (`localhost`) is accepted.
    ///
    /// # Errors
    /// [`FieldError`] saying what is wrong.
    pub fn check_new(&self) -> Result<(), FieldError> {
        self.check_storable()?;
        check_email_syntax(&self.0).map_err(FieldError::Email)
    }
}

/// `text` with ASCII letters in lower case (see [`Email::folded`]); not
/// copied when it has none in upper case.
pub fn fold(text: &str) -> std::borrow::Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(text.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The syntax of a new address (see [`Email::check_new`]).
fn check_email_syntax(text: &str) -> Result<(), &'static str> {
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters");
    }
    let Some((local, domain)) = text.split_once('@') else {
        return Err("must contain an @");
    };
    if domain.contains('@') {
        return Err("must contain exactly one @");
    }
    if local.is_empty() {
        return Err("must have a name before the @");
    }
    if domain.is_empty() {
        return Err("must have a domain after the @");
    }
    if domain.split('.').any(str::is_empty) {
        return Err(
            "must not have an empty part in its domain (a leading, trailing or doubled dot)",
        );
    }
    Ok(())
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

impl User {
    /// The account's own words (email, its local part, names): a password
    /// made of them is weak for this account.
    pub fn own_words(&self) -> Vec<&str> {
        own_words(
            &self.email,
            self.first_name.as_deref(),
            self.last_name.as_deref(),
        )
    }
}

/// The words of an account with this email and names (see
/// [`User::own_words`]).
pub fn own_words<'a>(
    email: &'a Email,
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
) -> Vec<&'a str> {
    let mut words = vec![email.as_str()];
    if let Some((local, _)) = email.as_str().split_once('@') {
        words.push(local);
    }
    words.extend(first_name);
    words.extend(last_name);
    words
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
        assert!(
            Email::parse("a\0@x.io").unwrap().check_storable().is_err(),
            "a login with a NUL asks no storage"
        );
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

    #[test]
    fn new_emails_must_have_the_documented_syntax() {
        let check = |text: &str| Email::parse(text).unwrap().check_new();
        for good in [
            "bob@x.io",
            "Bob.Lee+tag@Example.COM",
            "root@localhost",
            "é@exämple.org",
            "a@b",
        ] {
            assert!(check(good).is_ok(), "{good}");
        }
        for bad in [
            "not-an-email",
            "@x.io",
            "bob@",
            "bob@@x.io",
            "a@b@x.io",
            "bob @x.io",
            "bob@x.io ",
            "bob\t@x.io",
            "bob\u{7}@x.io",
            "bob@.x.io",
            "bob@x.io.",
            "bob@x..io",
        ] {
            assert!(
                matches!(check(bad), Err(FieldError::Email(_))),
                "{bad:?} was accepted"
            );
        }
        assert_eq!(
            check("not-an-email").unwrap_err().to_string(),
            "email must contain an @"
        );
    }

    #[test]
    fn emails_fold_only_ascii_letters() {
        let email = Email::parse("Émile.ZOLA@Example.org").unwrap();
        assert_eq!(email.folded(), "Émile.zola@example.org");
        assert!(email.matches(&Email::parse("Émile.zola@EXAMPLE.ORG").unwrap()));
        assert!(!email.matches(&Email::parse("émile.zola@example.org").unwrap()));
        assert!(matches!(
            Email::parse("bob@x.io").unwrap().folded(),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    fn someone(email: &str) -> User {
        User {
            id: UserId::generate(),
            email: Email::parse(email).unwrap(),
            password_hash: PasswordHash::Unusable,
            first_name: None,
            last_name: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
            is_admin: false,
        }
    }

    #[test]
    fn an_exact_match_wins_else_a_single_match_ignoring_case_else_no_one() {
        let upper = someone("Ann@X.io");
        let lower = someone("ann@x.io");
        let pair = [upper.clone(), lower.clone()];
        let pick = |text: &str, users: &[User]| {
            Email::parse(text)
                .unwrap()
                .pick(users)
                .map(|u| u.email.as_str().to_owned())
        };
        assert_eq!(pick("Ann@X.io", &pair).as_deref(), Some("Ann@X.io"));
        assert_eq!(pick("ann@x.io", &pair).as_deref(), Some("ann@x.io"));
        assert_eq!(
            pick("ANN@X.IO", &pair),
            None,
            "two users match ignoring case"
        );
        assert_eq!(
            pick("ANN@X.IO", std::slice::from_ref(&lower)).as_deref(),
            Some("ann@x.io")
        );
        assert_eq!(pick("bob@x.io", &pair), None);
        let twins = [someone("ann@x.io"), someone("ann@x.io")];
        let first = Email::parse("ann@x.io").unwrap().pick(&twins).unwrap().id;
        assert_eq!(first, twins[0].id, "of exact duplicates, the first");
    }
}
