//! Passwords in transit and at rest.

use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

use crate::error::{InvalidPasswordHash, PasswordRuleError};

/// A clear-text password received from a client. It never reaches storage or
/// a log: it has no `Display`, and its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Accepts any non-empty text (the Flask API's rule); `None` otherwise.
    pub fn parse(text: impl Into<String>) -> Option<Self> {
        let text = text.into();
        (!text.is_empty()).then_some(Self(text))
    }

    /// The clear text, for a hasher.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// The longest password accepted anywhere, in characters (Argon2 takes
/// any length; this bounds the work a client can ask for).
pub const PASSWORD_MAX: usize = 128;

/// Length limits on new passwords (counted in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordRules {
    /// Shortest accepted; 1 is the Flask API's "non-empty".
    pub min_length: usize,
    /// Longest accepted.
    pub max_length: usize,
}

impl PasswordRules {
    /// Whether `password` may be set as a new password.
    ///
    /// # Errors
    /// [`PasswordRuleError`] saying which limit it breaks.
    pub fn check(&self, password: &Password) -> Result<(), PasswordRuleError> {
        let length = password.expose().chars().count();
        if length < self.min_length {
            Err(PasswordRuleError::TooShort(self.min_length))
        } else if length > self.max_length {
            Err(PasswordRuleError::TooLong(self.max_length))
        } else {
            Ok(())
        }
    }

    /// [`Self::check`], then, when `strength` is given (`PASSWORD_POLICY`
    /// beyond length), whether it judges `password` strong enough for an
    /// account whose own words are `context`. Every path that sets a
    /// password (a new user, an operator's reset, a user's change) goes
    /// through here.
    ///
    /// # Errors
    /// [`PasswordRuleError`] saying which rule it breaks, and why when it
    /// is too weak.
    pub fn check_new(
        &self,
        password: &Password,
        strength: Option<&dyn PasswordStrength>,
        context: &[&str],
    ) -> Result<(), PasswordRuleError> {
        self.check(password)?;
        match strength {
            Some(strength) => strength
                .check(password, context)
                .map_err(PasswordRuleError::TooWeak),
            None => Ok(()),
        }
    }
}

/// A port: judges whether a new password is strong enough (`PASSWORD_POLICY`
/// beyond the length limits). Pure computation, fast enough to run on an
/// async worker (a password is at most 128 characters).
pub trait PasswordStrength: Send + Sync {
    /// `Ok` when `password` is strong enough for an account whose own
    /// words (email, names) are `context` (a password built from them is
    /// weaker); otherwise why not, in words fit to show the person who
    /// chose it, never quoting the password.
    ///
    /// # Errors
    /// The reason the password is too weak.
    fn check(&self, password: &Password, context: &[&str]) -> Result<(), String>;
}

/// A stored password hash.
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordHash {
    /// An Argon2id PHC string (`$argon2id$v=19$m=…`).
    Argon2id(String),
    /// The Flask API's unsalted SHA-256, lowercase hex; verified, then
    /// replaced by Argon2id at the next successful login.
    LegacySha256(String),
    /// No password was ever set (a `null` in an old file): nothing verifies.
    Unusable,
}

impl PasswordHash {
    /// Recognises a stored hash by its shape.
    ///
    /// # Errors
    /// [`InvalidPasswordHash`] for text of any other shape.
    pub fn parse(text: &str) -> Result<Self, InvalidPasswordHash> {
        if text.starts_with("$argon2id$") {
            Ok(Self::Argon2id(text.to_owned()))
        } else if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self::LegacySha256(text.to_ascii_lowercase()))
        } else {
            Err(InvalidPasswordHash)
        }
    }

    /// The text to store, `None` for [`PasswordHash::Unusable`].
    pub fn as_stored(&self) -> Option<&str> {
        match self {
            Self::Argon2id(s) | Self::LegacySha256(s) => Some(s),
            Self::Unusable => None,
        }
    }

    /// Whether a successful login should replace this hash with Argon2id.
    pub fn needs_upgrade(&self) -> bool {
        matches!(self, Self::LegacySha256(_))
    }

    /// The Flask API's hash of `password`, for tests and for building
    /// legacy records.
    pub fn legacy_sha256_of(password: &Password) -> Self {
        Self::LegacySha256(hex::encode(Sha256::digest(password.expose().as_bytes())))
    }

    /// Verifies `password` against a legacy SHA-256 hash in constant time;
    /// `None` when this is not a legacy hash.
    pub fn verify_legacy(&self, password: &Password) -> Option<bool> {
        match self {
            Self::LegacySha256(stored) => {
                let computed = hex::encode(Sha256::digest(password.expose().as_bytes()));
                Some(computed.as_bytes().ct_eq(stored.as_bytes()).into())
            }
            _ => None,
        }
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Self::Argon2id(_) => "Argon2id",
            Self::LegacySha256(_) => "LegacySha256",
            Self::Unusable => "Unusable",
        };
        write!(f, "PasswordHash::{kind}(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Password {
        Password::parse(s).unwrap()
    }

    #[test]
    fn new_passwords_are_held_to_the_length_rules_in_characters() {
        let rules = PasswordRules {
            min_length: 3,
            max_length: 5,
        };
        assert_eq!(rules.check(&pw("ab")), Err(PasswordRuleError::TooShort(3)));
        assert_eq!(rules.check(&pw("abc")), Ok(()));
        assert_eq!(rules.check(&pw("ééééé")), Ok(()));
        assert_eq!(
            rules.check(&pw("abcdef")),
            Err(PasswordRuleError::TooLong(5))
        );
        assert_eq!(
            PasswordRules {
                min_length: 1,
                max_length: 128
            }
            .check(&pw(&"x".repeat(129))),
            Err(PasswordRuleError::TooLong(128))
        );
    }

    #[test]
    fn empty_password_is_refused() {
        assert!(Password::parse("").is_none());
    }

    #[test]
    fn legacy_hash_of_the_flask_api_verifies_its_password_only() {
        // sha256("hello") as the Flask API stored it.
        let stored =
            PasswordHash::parse("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
                .unwrap();
        assert!(stored.needs_upgrade());
        assert_eq!(stored.verify_legacy(&pw("hello")), Some(true));
        assert_eq!(stored.verify_legacy(&pw("hellO")), Some(false));
    }

    #[test]
    fn uppercase_legacy_hash_is_normalised() {
        let stored =
            PasswordHash::parse("2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824")
                .unwrap();
        assert_eq!(stored.verify_legacy(&pw("hello")), Some(true));
    }

    #[test]
    fn other_shapes_are_not_hashes() {
        assert!(PasswordHash::parse("hello").is_err());
        assert!(PasswordHash::parse("$argon2i$v=19$m=16,t=2,p=1$c2FsdA$aGFzaA").is_err());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let shown = format!(
            "{:?} {:?}",
            pw("hunter2"),
            PasswordHash::legacy_sha256_of(&pw("hunter2"))
        );
        assert!(!shown.contains("hunter2"));
        assert!(!shown.contains("f52fbd32"));
    }
}
