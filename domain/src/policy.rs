//! The authentication policies of the Flask API's `AUTH_TYPE`s: each turns a
//! request's credentials into an [`Identity`].

use async_trait::async_trait;
use chrono::Duration;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::credentials::Presented;
use crate::error::{Failure, LoginError, UnknownAuthType};
use crate::service::AuthService;
use crate::session::{ClientInfo, Session, SessionToken};
use crate::user::User;

/// What a policy made of a request's credentials.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "made once per request and consumed at once; a box would add an allocation to every request"
)]
pub enum Identity {
    /// They identify this user; `session` is the session that did, under
    /// the session policies (and only there).
    User {
        /// Who.
        user: User,
        /// The session of the request's cookie, when a session policy
        /// resolved the user.
        session: Option<Session>,
    },
    /// They identify no one.
    Nobody,
    /// Too many failed password checks: try again after this long.
    Throttled(Duration),
}

/// Resolves the current user from a request's credentials.
#[async_trait]
pub trait AuthPolicy: Send + Sync {
    /// Whom what the request presents, sent by `client`, identifies.
    ///
    /// # Errors
    /// Only infrastructure failures; bad credentials are
    /// [`Identity::Nobody`].
    async fn identify(
        &self,
        presented: &Presented<'_>,
        client: &ClientInfo,
    ) -> Result<Identity, Failure>;

    /// Whether this policy identifies callers by an email and a password
    /// sent with each request ([`Presented::basic`]).
    fn accepts_basic(&self) -> bool {
        false
    }
}

/// The `AUTH_TYPE` setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthType {
    /// `none`: no gate at all (explicit; never the default).
    None,
    /// `auth`: the base policy, which never resolves a user.
    Auth,
    /// `basic_auth`: an email and a password sent with every request.
    BasicAuth,
    /// `session_auth`: cookie sessions in process memory, never expiring.
    SessionAuth,
    /// `session_exp_auth`: cookie sessions in process memory, expiring.
    SessionExpAuth,
    /// `session_db_auth`: cookie sessions in the configured storage, expiring.
    SessionDbAuth,
}

impl AuthType {
    /// Every policy, in the order `--help` lists them.
    pub const ALL: [Self; 6] = [
        Self::None,
        Self::Auth,
        Self::BasicAuth,
        Self::SessionAuth,
        Self::SessionExpAuth,
        Self::SessionDbAuth,
    ];

    /// Every accepted value, for messages and `--help`.
    pub const NAMES: [&'static str; 6] = {
        let mut names = [""; 6];
        let mut i = 0;
        while i < names.len() {
            names[i] = Self::ALL[i].as_str();
            i += 1;
        }
        names
    };

    /// The setting's text.
    pub const fn as_str(&self) -> &'static str {
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

impl FromStr for AuthType {
    type Err = UnknownAuthType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|auth_type| auth_type.as_str() == s)
            .ok_or_else(|| UnknownAuthType {
                given: s.to_owned(),
                expected: Self::NAMES.join(", "),
            })
    }
}

/// `auth`: the base policy resolves nobody.
struct DenyAll;

#[async_trait]
impl AuthPolicy for DenyAll {
    async fn identify(&self, _: &Presented<'_>, _: &ClientInfo) -> Result<Identity, Failure> {
        Ok(Identity::Nobody)
    }
}

/// `basic_auth`: the user whose email and password the request carries.
struct BasicAuthPolicy {
    auth: Arc<AuthService>,
}

#[async_trait]
impl AuthPolicy for BasicAuthPolicy {
    async fn identify(
        &self,
        presented: &Presented<'_>,
        client: &ClientInfo,
    ) -> Result<Identity, Failure> {
        let Some(basic) = &presented.basic else {
            return Ok(Identity::Nobody);
        };
        let checked = self.auth.check_basic(basic, client).await;
        match checked {
            Ok(user) => Ok(Identity::User {
                user,
                session: None,
            }),
            Err(LoginError::TooManyAttempts(wait)) => Ok(Identity::Throttled(wait)),
            Err(LoginError::Failure(failure)) => Err(failure),
            Err(_) => Ok(Identity::Nobody),
        }
    }

    fn accepts_basic(&self) -> bool {
        true
    }
}

/// The three session policies: only the cookie identifies the user. Which
/// store and which lifetime is the composition root's choice.
struct SessionPolicy {
    auth: Arc<AuthService>,
}

#[async_trait]
impl AuthPolicy for SessionPolicy {
    async fn identify(
        &self,
        presented: &Presented<'_>,
        _: &ClientInfo,
    ) -> Result<Identity, Failure> {
        let Some(cookie) = presented.session_token else {
            return Ok(Identity::Nobody);
        };
        let token = SessionToken::from_cookie(cookie);
        Ok(match self.auth.session_for_token(&token).await? {
            Some((session, user)) => Identity::User {
                user,
                session: Some(session),
            },
            None => Identity::Nobody,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_type_names_round_trip_and_unknown_names_are_refused() {
        for name in AuthType::NAMES {
            assert_eq!(name.parse::<AuthType>().unwrap().as_str(), name);
        }
        assert!("session".parse::<AuthType>().is_err());
        assert!("".parse::<AuthType>().is_err());
    }
}
