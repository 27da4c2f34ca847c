//! The paths that need no authentication, with the Flask API's matching
//! rules: slash tolerant, and a trailing `*` matches any path with that
//! prefix.

use crate::{DOCS_PATH, OPENAPI_PATH};

/// Paths that never need authentication.
#[derive(Clone, Debug)]
pub(super) struct PublicPaths(Vec<String>);

impl PublicPaths {
    /// The Flask API's excluded paths, plus this service's own OpenAPI
    /// document and Swagger UI.
    pub(super) fn standard() -> Self {
        Self::new([
            "/api/v1/status/",
            "/api/v1/unauthorized/",
            "/api/v1/forbidden/",
            "/api/v1/auth_session/login/",
            "/api/v1/auth_session/password_reset/",
            OPENAPI_PATH,
            DOCS_PATH,
        ])
    }

    /// A custom list, each entry exact (slash tolerant) or ending in `*`.
    pub(super) fn new<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self(paths.into_iter().map(Into::into).collect())
    }

    /// Whether `path` needs no authentication.
    pub(super) fn contains(&self, path: &str) -> bool {
        self.0.iter().any(|public| match public.strip_suffix('*') {
            Some(prefix) => is_under(path, prefix),
            None => same_path(public, path),
        })
    }
}

/// Whether `a` and `b` name the same path, one trailing slash aside
/// (compared in place: this runs on every request).
pub(super) fn same_path(a: &str, b: &str) -> bool {
    a.strip_suffix('/').unwrap_or(a) == b.strip_suffix('/').unwrap_or(b)
}

/// Whether `path`, with a trailing slash added when it has none, starts
/// with `prefix`.
fn is_under(path: &str, prefix: &str) -> bool {
    path.starts_with(prefix) || (!path.ends_with('/') && prefix.strip_suffix('/') == Some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_paths_are_slash_tolerant() {
        let public = PublicPaths::standard();
        assert!(public.contains("/api/v1/status"));
        assert!(public.contains("/api/v1/status/"));
        assert!(public.contains("/api/v1/auth_session/login"));
        assert!(public.contains("/api/v1/openapi.json/"));
        assert!(public.contains("/api/v1/docs"));
        assert!(!public.contains("/api/v1/users"));
        assert!(!public.contains("/api/v1/stats"));
    }

    #[test]
    fn public_path_without_trailing_slash_matches_too() {
        let public = PublicPaths::new(["/api/v1/status"]);
        assert!(public.contains("/api/v1/status/"));
        assert!(public.contains("/api/v1/status"));
    }

    #[test]
    fn wildcard_makes_every_path_with_the_prefix_public() {
        let public = PublicPaths::new(["/api/v1/stat*"]);
        assert!(public.contains("/api/v1/status"));
        assert!(public.contains("/api/v1/stats"));
        assert!(public.contains("/api/v1/stats/"));
        assert!(!public.contains("/api/v1/users"));
        assert!(!public.contains("/api/v1/sta"));
    }

    #[test]
    fn a_prefix_of_a_public_path_is_not_public() {
        let public = PublicPaths::standard();
        assert!(!public.contains("/api/v1/stat"));
        assert!(!public.contains("/api/v1/status/extra"));
        assert!(!public.contains("/"));
    }
}
