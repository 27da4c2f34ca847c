//! The authentication gate that runs before every route.

use std::sync::Arc;

use chrono::Duration;

use crate::policy::{AuthPolicy, Credentials, Identity};
use crate::service::Failure;
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
        let path = with_trailing_slash(path);
        !self
            .0
            .iter()
            .any(|excluded| match excluded.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => with_trailing_slash(excluded) == path,
            })
    }
}

fn with_trailing_slash(path: &str) -> std::borrow::Cow<'_, str> {
    if path.ends_with('/') {
        path.into()
    } else {
        format!("{path}/").into()
    }
}

/// What the gate decided for a request.
#[derive(Debug)]
pub enum GateDecision {
    /// The route runs, with this current user (none on excluded paths and
    /// when authentication is off).
    Pass(Option<User>),
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
}

impl Gate {
    /// A gate applying `policy` outside `excluded`.
    pub fn new(excluded: ExcludedPaths, policy: Option<Arc<dyn AuthPolicy>>) -> Self {
        Self { excluded, policy }
    }

    /// Decides whether the request may reach its route, and as whom.
    ///
    /// # Errors
    /// Only infrastructure failures of the policy.
    pub async fn check(
        &self,
        path: &str,
        credentials: &Credentials<'_>,
    ) -> Result<GateDecision, Failure> {
        let Some(policy) = &self.policy else {
            return Ok(GateDecision::Pass(None));
        };
        if !self.excluded.require_auth(path) {
            return Ok(GateDecision::Pass(None));
        }
        if credentials.is_empty() {
            return Ok(GateDecision::Unauthorized);
        }
        Ok(match policy.current_user(credentials).await? {
            Identity::User(user) => GateDecision::Pass(Some(user)),
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
