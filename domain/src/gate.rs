//! The authentication gate that runs before every route, and the
//! [`Caller`] it hands to the route.

use std::sync::Arc;

use chrono::Duration;

use crate::credentials::Credentials;
use crate::error::Failure;
use crate::policy::{AuthPolicy, Identity};
use crate::session::{ClientInfo, Session};
use crate::user::User;

/// Paths that never need authentication, with the Flask API's matching
/// rules: slash tolerant, and a trailing `*` matches any path with that
/// prefix.
#[derive(Clone, Debug)]
pub struct ExcludedPaths(Vec<String>);

impl ExcludedPaths {
    /// The Flask API's excluded paths, plus this service's own OpenAPI
    /// document and Swagger UI.
    pub fn standard() -> Self {
        Self::new([
            "/api/v1/status/",
            "/api/v1/unauthorized/",
            "/api/v1/forbidden/",
            "/api/v1/auth_session/login/",
            "/api/v1/openapi.json/",
            "/api/v1/docs/",
        ])
    }

    /// A custom list, each entry exact (slash tolerant) or ending in `*`.
    pub fn new<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self(paths.into_iter().map(Into::into).collect())
    }

    /// Whether `path` needs authentication.
    pub fn require_auth(&self, path: &str) -> bool {
        !self
            .0
            .iter()
            .any(|excluded| match excluded.strip_suffix('*') {
                Some(prefix) => is_under(path, prefix),
                None => same_path(excluded, path),
            })
    }
}

/// Whether `a` and `b` name the same path, one trailing slash aside
/// (compared in place: this runs on every request).
fn same_path(a: &str, b: &str) -> bool {
    a.strip_suffix('/').unwrap_or(a) == b.strip_suffix('/').unwrap_or(b)
}

/// Whether `path`, with a trailing slash added when it has none, starts
/// with `prefix`.
fn is_under(path: &str, prefix: &str) -> bool {
    path.starts_with(prefix) || (!path.ends_with('/') && prefix.strip_suffix('/') == Some(path))
}

/// Who is calling, as the gate worked it out: everything a route may need
/// to know about the caller, so no route reads a credential itself.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    /// The current user; none on excluded paths and when authentication is
    /// off.
    pub user: Option<User>,
    /// The session that authenticated the request; set only by the session
    /// policies, so a cookie sent under `basic_auth` is no session here.
    pub session: Option<Session>,
    /// The client's address and `User-Agent`.
    pub client: ClientInfo,
}

/// What the gate decided for a request.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "made once per request and consumed at once; a box would add an allocation to every request"
)]
pub enum GateDecision {
    /// The route runs, for this caller.
    Pass(Caller),
    /// Neither an `Authorization` header nor the session cookie: 401.
    Unauthorized,
    /// Credentials that resolve no user: 403.
    Forbidden,
    /// Too many failed password checks (Basic): 429, retry after this long.
    TooManyAttempts(Duration),
}

/// The gate: excluded paths plus the active policy (none when `AUTH_TYPE`
/// is `none`).
#[derive(Clone)]
pub struct Gate {
    excluded: ExcludedPaths,
    policy: Option<Arc<dyn AuthPolicy>>,
    /// Routes (method, path) that anonymous callers may reach too.
    open_to_anyone: Vec<(String, String)>,
}

impl Gate {
    /// A gate applying `policy` outside `excluded`.
    pub fn new(excluded: ExcludedPaths, policy: Option<Arc<dyn AuthPolicy>>) -> Self {
        Self {
            excluded,
            policy,
            open_to_anyone: Vec::new(),
        }
    }

    /// Lets anonymous callers reach the route of `method` (uppercase) and
    /// `path` (slash tolerant), e.g. `POST /api/v1/users` under
    /// `REGISTRATION=open`. Credentials sent there still identify the
    /// caller; credentials that identify no one (a stale cookie) make an
    /// anonymous caller rather than a 403, since anyone may call the route.
    #[must_use]
    pub fn open_to_anyone(mut self, method: &str, path: &str) -> Self {
        self.open_to_anyone
            .push((method.to_owned(), path.to_owned()));
        self
    }

    fn is_open_to_anyone(&self, method: &str, path: &str) -> bool {
        self.open_to_anyone
            .iter()
            .any(|(m, p)| m.eq_ignore_ascii_case(method) && same_path(p, path))
    }

    /// The `WWW-Authenticate` challenge of a `401` under the active policy
    /// (`basic_auth` invites Basic credentials).
    pub fn challenge(&self) -> Option<&'static str> {
        self.policy.as_ref().and_then(|policy| policy.challenge())
    }

    /// Decides whether the `method` request for `path`, presenting
    /// `credentials` from `client`, may reach its route, and as whom.
    ///
    /// # Errors
    /// Only infrastructure failures of the policy.
    pub async fn check(
        &self,
        method: &str,
        path: &str,
        credentials: &Credentials<'_>,
        client: ClientInfo,
    ) -> Result<GateDecision, Failure> {
        let anonymous = |client| {
            Ok(GateDecision::Pass(Caller {
                user: None,
                session: None,
                client,
            }))
        };
        let Some(policy) = &self.policy else {
            return anonymous(client);
        };
        if !self.excluded.require_auth(path) {
            return anonymous(client);
        }
        let open_to_anyone = self.is_open_to_anyone(method, path);
        if credentials.is_empty() {
            return if open_to_anyone {
                anonymous(client)
            } else {
                Ok(GateDecision::Unauthorized)
            };
        }
        Ok(match policy.identify(credentials, &client).await? {
            Identity::User { user, session } => GateDecision::Pass(Caller {
                user: Some(user),
                session,
                client,
            }),
            Identity::Nobody if open_to_anyone => return anonymous(client),
            Identity::Nobody => GateDecision::Forbidden,
            Identity::Throttled(wait) => GateDecision::TooManyAttempts(wait),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excluded_paths_are_slash_tolerant() {
        let excluded = ExcludedPaths::standard();
        assert!(!excluded.require_auth("/api/v1/status"));
        assert!(!excluded.require_auth("/api/v1/status/"));
        assert!(!excluded.require_auth("/api/v1/auth_session/login"));
        assert!(excluded.require_auth("/api/v1/users"));
        assert!(excluded.require_auth("/api/v1/stats"));
    }

    #[test]
    fn excluded_path_without_trailing_slash_matches_too() {
        let excluded = ExcludedPaths::new(["/api/v1/status"]);
        assert!(!excluded.require_auth("/api/v1/status/"));
        assert!(!excluded.require_auth("/api/v1/status"));
    }

    #[test]
    fn wildcard_excludes_every_path_with_the_prefix() {
        let excluded = ExcludedPaths::new(["/api/v1/stat*"]);
        assert!(!excluded.require_auth("/api/v1/status"));
        assert!(!excluded.require_auth("/api/v1/stats"));
        assert!(!excluded.require_auth("/api/v1/stats/"));
        assert!(excluded.require_auth("/api/v1/users"));
        assert!(excluded.require_auth("/api/v1/sta"));
    }

    #[test]
    fn a_prefix_of_an_excluded_path_is_not_excluded() {
        let excluded = ExcludedPaths::standard();
        assert!(excluded.require_auth("/api/v1/stat"));
        assert!(excluded.require_auth("/api/v1/status/extra"));
        assert!(excluded.require_auth("/"));
    }
}
