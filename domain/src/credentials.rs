//! What a request presents to prove who it is, as the adapter that received
//! it read it, and an email with a password once parsed.

use std::fmt;

use crate::error::LoginError;
use crate::password::Password;
use crate::user::Email;

/// What a request presents, already read by the adapter that received it.
/// The gate's first question is whether it presents anything at all; the
/// policy then looks only at the kind it accepts.
#[derive(Debug, Default)]
pub struct Presented<'a> {
    /// An email and a password sent with the request itself (the
    /// `basic_auth` policy's credential).
    pub basic: Option<EmailAndPassword>,
    /// The session token, as the request's session cookie carries it.
    pub session_token: Option<&'a str>,
    /// Whether the request presents a credential that reads as neither
    /// (another scheme, an encoding the adapter cannot read, or one the
    /// active policy does not take). It identifies no one, but it is not
    /// nothing: a guarded route answers it as unknown credentials, not as
    /// missing ones.
    pub unreadable: bool,
}

impl Presented<'_> {
    /// The gate's first question: does the request present anything at all?
    pub fn is_empty(&self) -> bool {
        self.basic.is_none() && self.session_token.is_none() && !self.unreadable
    }
}

/// An email and a password, both non-empty: what the login form and the
/// `basic_auth` credential carry, and what every password check takes.
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

    #[test]
    fn email_and_password_debug_hides_the_password() {
        let creds = EmailAndPassword::parse(Some("bob@x.io"), Some("hunter2")).unwrap();
        assert!(!format!("{creds:?}").contains("hunter2"));
    }

    #[test]
    fn presenting_anything_is_not_empty() {
        assert!(Presented::default().is_empty());
        let cookie = Presented {
            session_token: Some(""),
            ..Presented::default()
        };
        assert!(!cookie.is_empty());
        let unreadable = Presented {
            unreadable: true,
            ..Presented::default()
        };
        assert!(!unreadable.is_empty());
    }
}
