//! The inputs of the use cases as front doors hand them in, each checked
//! once by a fallible constructor that keeps the Flask API's order of
//! messages: a new user, a change of a user, a password change.

use crate::error::{ChangePasswordError, CreateUserError};
use crate::password::Password;
use crate::user::{Email, NameChange, check_names};

/// The fields of a new user, checked.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The login name.
    pub email: Email,
    /// Hashed before it is stored.
    pub password: Password,
    /// Optional.
    pub first_name: Option<String>,
    /// Optional.
    pub last_name: Option<String>,
    /// Whether the new user is an administrator; [`NewUser::parse`] makes
    /// none.
    pub is_admin: bool,
}

impl NewUser {
    /// The same user, made an administrator (`user create --admin`, the
    /// bootstrap user).
    #[must_use]
    pub fn administrator(self) -> Self {
        Self {
            is_admin: true,
            ..self
        }
    }

    /// A new user from the fields a client sent, checked in the Flask API's
    /// order: the email first, then the password; then whether storage can
    /// keep the email and names.
    ///
    /// # Errors
    /// [`CreateUserError::EmailMissing`] or
    /// [`CreateUserError::PasswordMissing`] for an absent or empty field,
    /// [`CreateUserError::Field`] for one no storage could keep.
    pub fn parse(
        email: Option<String>,
        password: Option<String>,
        first_name: Option<String>,
        last_name: Option<String>,
    ) -> Result<Self, CreateUserError> {
        let email = email
            .and_then(Email::parse)
            .ok_or(CreateUserError::EmailMissing)?;
        let password = password
            .and_then(Password::parse)
            .ok_or(CreateUserError::PasswordMissing)?;
        email.check_new()?;
        check_names(first_name.as_deref(), last_name.as_deref())?;
        Ok(Self {
            email,
            password,
            first_name,
            last_name,
            is_admin: false,
        })
    }
}

/// A change of a user as `PUT /users/<id>` asks for it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserChange {
    /// The names to set.
    pub names: NameChange,
    /// The administrator flag asked for. Only `ACCESS_POLICY=owner` reads
    /// it (the Flask API applied the names only and ignored every other
    /// field, whatever its value), and only an administrator may change
    /// the stored flag.
    pub is_admin: AdminFlagRequest,
}

/// The administrator flag a change asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AdminFlagRequest {
    /// Absent or null: the flag stays.
    #[default]
    Absent,
    /// This value.
    Set(bool),
    /// Something that is no boolean.
    Malformed,
}

/// A password change as a client asks for it: the password in use and the
/// one to set.
pub struct PasswordChange {
    /// The password in use now.
    pub current: Password,
    /// The password to set.
    pub new: Password,
}

impl PasswordChange {
    /// The two fields, checked in order: the current password, then the
    /// new one.
    ///
    /// # Errors
    /// [`ChangePasswordError::CurrentMissing`] or
    /// [`ChangePasswordError::NewMissing`] for an absent or empty field.
    pub fn parse(current: Option<&str>, new: Option<&str>) -> Result<Self, ChangePasswordError> {
        let current = current
            .and_then(Password::parse)
            .ok_or(ChangePasswordError::CurrentMissing)?;
        let new = new
            .and_then(Password::parse)
            .ok_or(ChangePasswordError::NewMissing)?;
        Ok(Self { current, new })
    }
}
