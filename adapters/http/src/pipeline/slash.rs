//! Trailing-slash tolerance: `/api/v1/users/` and `/api/v1/users` are the
//! same route, as they were in the Flask API.

use poem::Request;
use poem::http::Uri;

/// Drops the trailing slashes of the request's path (not of `/` itself),
/// keeping its query. A path without one is left untouched, at no cost.
pub(super) fn strip_trailing_slash(req: &mut Request) {
    let path = req.uri().path();
    if path.len() <= 1 || !path.ends_with('/') {
        return;
    }
    let trimmed = path.trim_end_matches('/');
    let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
    let path_and_query = match req.uri().query() {
        Some(query) => format!("{trimmed}?{query}"),
        None => trimmed.to_owned(),
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripped(uri: &str) -> String {
        let mut req = Request::builder().uri_str(uri).finish();
        strip_trailing_slash(&mut req);
        req.uri().to_string()
    }

    #[test]
    fn trailing_slashes_go_and_the_query_stays() {
        assert_eq!(stripped("/api/v1/users/"), "/api/v1/users");
        assert_eq!(stripped("/api/v1/users//?a=1"), "/api/v1/users?a=1");
        assert_eq!(stripped("/api/v1/users"), "/api/v1/users");
        assert_eq!(stripped("/"), "/");
        assert_eq!(stripped("//"), "/");
    }
}
