//! The authentication policies of the Flask API's `AUTH_TYPE`s.

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::password::Password;
use crate::service::{AuthService, Failure, LoginError};
use crate::session::SessionToken;
use crate::user::{Email, User};

/// What a request presents: the raw `Authorization` header and the value of
/// the session cookie, each as sent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Credentials<'a> {
    /// The `Authorization` header, if the request has one.
    pub authorization: Option<&'a str>,
    /// The session cookie (named by `SESSION_NAME`), if the request has one.
    pub session_cookie: Option<&'a str>,
    /// The client's address, for throttling password checks.
    pub client_address: Option<&'a str>,
}

impl Credentials<'_> {
    /// The gate's first question: does the request present anything at all?
    pub fn is_empty(&self) -> bool {
        self.authorization.is_none() && self.session_cookie.is_none()
    }
}

/// What a policy made of a request's credentials.
#[derive(Debug)]
pub enum Identity {
    /// They identify this user.
    User(User),
    /// They identify no one.
    Nobody,
    /// Too many failed password checks: try again after this long.
    Throttled(Duration),
}

/// Resolves the current user from a request's credentials.
#[async_trait]
pub trait AuthPolicy: Send + Sync {
    /// Whom these credentials identify.
    ///
    /// # Errors
    /// Only infrastructure failures; bad credentials are
    /// [`Identity::Nobody`].
    async fn current_user(&self, credentials: &Credentials<'_>) -> Result<Identity, Failure>;
}

/// The `AUTH_TYPE` setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthType {
    /// `none`: no gate at all (explicit; never the default).
    None,
    /// `auth`: the base policy, which never resolves a user.
    Auth,
    /// `basic_auth`: HTTP Basic with email and password.
    BasicAuth,
    /// `session_auth`: cookie sessions in process memory, never expiring.
    SessionAuth,
    /// `session_exp_auth`: cookie sessions in process memory, expiring.
    SessionExpAuth,
    /// `session_db_auth`: cookie sessions in the configured storage, expiring.
    SessionDbAuth,
}

impl AuthType {
    /// Every accepted value, for messages and `--help`.
    pub const NAMES: [&'static str; 6] = [
        "none",
        "auth",
        "basic_auth",
        "session_auth",
        "session_exp_auth",
        "session_db_auth",
    ];

    /// The setting's text.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Auth => "auth",
            Self::BasicAuth => "basic_auth",
            Self::SessionAuth => "session_auth",
            Self::SessionExpAuth => "session_exp_auth",
            Self::SessionDbAuth => "session_db_auth",
        }
    }

    /// Whether logins create cookie sessions under this policy.
    pub fn uses_sessions(&self) -> bool {
        matches!(
            self,
            Self::SessionAuth | Self::SessionExpAuth | Self::SessionDbAuth
        )
    }

    /// Whether sessions live in the configured storage rather than in
    /// process memory.
    pub fn stores_sessions(&self) -> bool {
        matches!(self, Self::SessionDbAuth)
    }

    /// Whether `SESSION_DURATION` applies (`session_auth` never expires).
    pub fn sessions_expire(&self) -> bool {
        matches!(self, Self::SessionExpAuth | Self::SessionDbAuth)
    }

    /// The policy object for this setting; `None` for [`AuthType::None`].
    pub fn policy(&self, auth: Arc<AuthService>) -> Option<Arc<dyn AuthPolicy>> {
        match self {
            Self::None => None,
            Self::Auth => Some(Arc::new(DenyAll)),
            Self::BasicAuth => Some(Arc::new(BasicAuthPolicy { auth })),
            Self::SessionAuth | Self::SessionExpAuth | Self::SessionDbAuth => {
                Some(Arc::new(SessionPolicy { auth }))
            }
        }
    }
}

impl fmt::Display for AuthType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text names no known `AUTH_TYPE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown AUTH_TYPE {0:?}; expected one of: none, auth, basic_auth, session_auth, session_exp_auth, session_db_auth"
)]
pub struct UnknownAuthType(pub String);

impl FromStr for AuthType {
    type Err = UnknownAuthType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "none" => Self::None,
            "auth" => Self::Auth,
            "basic_auth" => Self::BasicAuth,
            "session_auth" => Self::SessionAuth,
            "session_exp_auth" => Self::SessionExpAuth,
            "session_db_auth" => Self::SessionDbAuth,
            other => return Err(UnknownAuthType(other.to_owned())),
        })
    }
}

/// `auth`: the base policy resolves nobody.
struct DenyAll;

#[async_trait]
impl AuthPolicy for DenyAll {
    async fn current_user(&self, _: &Credentials<'_>) -> Result<Identity, Failure> {
        Ok(Identity::Nobody)
    }
}

/// The email and password of an HTTP Basic `Authorization` header.
pub struct BasicCredentials {
    /// The part before the first `:`.
    pub email: Email,
    /// The part after it (may itself contain `:`).
    pub password: Password,
}

impl BasicCredentials {
    /// Parses `Basic base64(email:password)`. `None` when the header does not
    /// start with `Basic ` (with the space), is not valid base64, does not
    /// decode to UTF-8, has no `:`, or has an empty email or password.
    pub fn parse(header: &str) -> Option<Self> {
        let encoded = header.strip_prefix("Basic ")?;
        let decoded = STANDARD.decode(encoded.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (email, password) = text.split_once(':')?;
        Some(Self {
            email: Email::parse(email)?,
            password: Password::parse(password)?,
        })
    }
}

impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("email", &self.email)
            .field("password", &self.password)
            .finish()
    }
}

/// `basic_auth`: the user whose email and password the header carries.
struct BasicAuthPolicy {
    auth: Arc<AuthService>,
}

#[async_trait]
impl AuthPolicy for BasicAuthPolicy {
    async fn current_user(&self, credentials: &Credentials<'_>) -> Result<Identity, Failure> {
        let Some(basic) = credentials.authorization.and_then(BasicCredentials::parse) else {
            return Ok(Identity::Nobody);
        };
        let checked = self
            .auth
            .check_credentials(&basic.email, &basic.password, credentials.client_address)
            .await;
        match checked {
            Ok(user) => Ok(Identity::User(user)),
            Err(LoginError::TooManyAttempts(wait)) => Ok(Identity::Throttled(wait)),
            Err(LoginError::Failure(failure)) => Err(failure),
            Err(_) => Ok(Identity::Nobody),
        }
    }
}

/// The three session policies: only the cookie identifies the user. Which
/// store and which lifetime is the composition root's choice.
struct SessionPolicy {
    auth: Arc<AuthService>,
}

#[async_trait]
impl AuthPolicy for SessionPolicy {
    async fn current_user(&self, credentials: &Credentials<'_>) -> Result<Identity, Failure> {
        let Some(cookie) = credentials.session_cookie else {
            return Ok(Identity::Nobody);
        };
        let token = SessionToken::from_cookie(cookie);
        Ok(match self.auth.user_for_token(&token).await? {
            Some(user) => Identity::User(user),
            None => Identity::Nobody,
        })
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
        let creds = BasicCredentials::parse(&header("bob@x.io:pa:ss:word")).unwrap();
        assert_eq!(creds.email.as_str(), "bob@x.io");
        assert_eq!(creds.password.expose(), "pa:ss:word");
    }

    #[test]
    fn basic_header_without_the_basic_prefix_is_rejected() {
        let encoded = STANDARD.encode("bob@x.io:pw");
        assert!(BasicCredentials::parse(&encoded).is_none());
        assert!(BasicCredentials::parse(&format!("Basic{encoded}")).is_none());
        assert!(BasicCredentials::parse(&format!("Bearer {encoded}")).is_none());
    }

    #[test]
    fn basic_header_with_bad_base64_is_rejected() {
        assert!(BasicCredentials::parse("Basic !!!not-base64!!!").is_none());
    }

    #[test]
    fn basic_header_that_is_not_utf8_is_rejected() {
        let encoded = STANDARD.encode([0xff, 0xfe, b':', b'x']);
        assert!(BasicCredentials::parse(&format!("Basic {encoded}")).is_none());
    }

    #[test]
    fn basic_header_without_a_colon_is_rejected() {
        assert!(BasicCredentials::parse(&header("bob@x.io")).is_none());
    }

    #[test]
    fn basic_header_with_empty_email_or_password_is_rejected() {
        assert!(BasicCredentials::parse(&header(":pw")).is_none());
        assert!(BasicCredentials::parse(&header("bob@x.io:")).is_none());
    }

    #[test]
    fn basic_credentials_debug_hides_the_password() {
        let creds = BasicCredentials::parse(&header("bob@x.io:hunter2")).unwrap();
        assert!(!format!("{creds:?}").contains("hunter2"));
    }

    #[test]
    fn auth_type_names_round_trip_and_unknown_names_are_refused() {
        for name in AuthType::NAMES {
            assert_eq!(name.parse::<AuthType>().unwrap().as_str(), name);
        }
        assert!("session".parse::<AuthType>().is_err());
        assert!("".parse::<AuthType>().is_err());
    }
}
