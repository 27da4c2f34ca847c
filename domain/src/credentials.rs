//! What a request presents to prove who it is: the raw credentials the gate
//! looks at, and an email with a password once parsed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::fmt;

use crate::error::LoginError;
use crate::password::Password;
use crate::user::Email;

/// What a request presents: the raw `Authorization` header and the value of
/// the session cookie, each as sent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Credentials<'a> {
    /// The `Authorization` header, if the request has one.
    pub authorization: Option<&'a str>,
    /// The session cookie (named by `SESSION_NAME`), if the request has one.
    pub session_cookie: Option<&'a str>,
}

impl Credentials<'_> {
    /// The gate's first question: does the request present anything at all?
    pub fn is_empty(&self) -> bool {
        self.authorization.is_none() && self.session_cookie.is_none()
    }
}

/// An email and a password, both non-empty: what the login form and an
/// HTTP Basic header carry, and what every password check takes.
pub struct EmailAndPassword {
    /// The account's email as typed.
    pub email: Email,
    /// The password as typed.
    pub password: Password,
}

impl EmailAndPassword {
    /// The login form's fields, checked in the Flask API's order: the email
    /// first, then the password.
    ///
    /// # Errors
    /// [`LoginError::EmailMissing`] or [`LoginError::PasswordMissing`] for
    /// an absent or empty field.
    pub fn parse(email: Option<&str>, password: Option<&str>) -> Result<Self, LoginError> {
        let email = email
            .and_then(Email::parse)
            .ok_or(LoginError::EmailMissing)?;
        let password = password
            .and_then(Password::parse)
            .ok_or(LoginError::PasswordMissing)?;
        Ok(Self { email, password })
    }

    /// Parses `Basic base64(email:password)`. `None` when the header does not
    /// start with `Basic ` (with the space), is not valid base64, does not
    /// decode to UTF-8, has no `:`, or has an empty email or password. The
    /// password is everything after the first `:`.
    pub fn from_basic_header(header: &str) -> Option<Self> {
        let encoded = header.strip_prefix("Basic ")?;
        let decoded = STANDARD.decode(encoded.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (email, password) = text.split_once(':')?;
        Self::parse(Some(email), Some(password)).ok()
    }
}

impl fmt::Debug for EmailAndPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailAndPassword")
            .field("email", &self.email)
            .field("password", &self.password)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    #[test]
    fn basic_header_splits_on_the_first_colon() {
        let creds = EmailAndPassword::from_basic_header(&header("bob@x.io:pa:ss:word")).unwrap();
        assert_eq!(creds.email.as_str(), "bob@x.io");
        assert_eq!(creds.password.expose(), "pa:ss:word");
    }

    #[test]
    fn basic_header_without_the_basic_prefix_is_rejected() {
        let encoded = STANDARD.encode("bob@x.io:pw");
        assert!(EmailAndPassword::from_basic_header(&encoded).is_none());
        assert!(EmailAndPassword::from_basic_header(&format!("Basic{encoded}")).is_none());
        assert!(EmailAndPassword::from_basic_header(&format!("Bearer {encoded}")).is_none());
    }

    #[test]
    fn basic_header_with_bad_base64_is_rejected() {
        assert!(EmailAndPassword::from_basic_header("Basic !!!not-base64!!!").is_none());
    }

    #[test]
    fn basic_header_that_is_not_utf8_is_rejected() {
        let encoded = STANDARD.encode([0xff, 0xfe, b':', b'x']);
        assert!(EmailAndPassword::from_basic_header(&format!("Basic {encoded}")).is_none());
    }

    #[test]
    fn basic_header_without_a_colon_is_rejected() {
        assert!(EmailAndPassword::from_basic_header(&header("bob@x.io")).is_none());
    }

    #[test]
    fn basic_header_with_empty_email_or_password_is_rejected() {
        assert!(EmailAndPassword::from_basic_header(&header(":pw")).is_none());
        assert!(EmailAndPassword::from_basic_header(&header("bob@x.io:")).is_none());
    }

    #[test]
    fn basic_credentials_debug_hides_the_password() {
        let creds = EmailAndPassword::from_basic_header(&header("bob@x.io:hunter2")).unwrap();
        assert!(!format!("{creds:?}").contains("hunter2"));
    }
}
