//! The methods each path of the document accepts, for a `405`'s `Allow`
//! header: derived from the document, so it cannot drift from the routes.

use poem::http::Method;
use serde_json::Value;

/// Path templates of the document with their methods.
#[derive(Debug, Default)]
pub struct AllowedMethods(Vec<(Vec<Segment>, Vec<Method>)>);

#[derive(Debug)]
enum Segment {
    Literal(String),
    Parameter,
}

impl AllowedMethods {
    /// The table of the document `doc`.
    pub(super) fn from_document(doc: &Value) -> Self {
        let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
            return Self::default();
        };
        let table = paths
            .iter()
            .map(|(template, operations)| {
                let segments = template
                    .split('/')
                    .map(|s| {
                        if s.starts_with('{') && s.ends_with('}') {
                            Segment::Parameter
                        } else {
                            Segment::Literal(s.to_owned())
                        }
                    })
                    .collect();
                let methods = operations
                    .as_object()
                    .map(|ops| {
                        ops.keys()
                            .filter_map(|m| {
                                Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok()
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (segments, methods)
            })
            .collect();
        Self(table)
    }

    /// The methods `path` accepts; empty when no route has this path.
    pub fn for_path(&self, path: &str) -> Vec<Method> {
        let parts: Vec<&str> = path.split('/').collect();
        let mut methods = self
            .0
            .iter()
            .filter(|(segments, _)| {
                segments.len() == parts.len()
                    && segments
                        .iter()
                        .zip(&parts)
                        .all(|(segment, part)| match segment {
                            Segment::Literal(literal) => literal == part,
                            Segment::Parameter => !part.is_empty(),
                        })
            })
            .flat_map(|(_, methods)| methods.iter().cloned())
            .fold(Vec::new(), |mut unique, method| {
                // `/users/me` is documented twice: as itself and as
                // `/users/{user_id}`.
                if !unique.contains(&method) {
                    unique.push(method);
                }
                unique
            });
        // poem answers HEAD wherever GET is routed; the document lists GET
        // only.
        if methods.contains(&Method::GET) && !methods.contains(&Method::HEAD) {
            methods.push(Method::HEAD);
        }
        methods
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_documented_twice_lists_each_method_once() {
        let doc = serde_json::json!({ "paths": {
            "/api/v1/users/me": { "get": {} },
            "/api/v1/users/{user_id}": { "get": {}, "put": {}, "delete": {} },
        }});
        let allowed = AllowedMethods::from_document(&doc);
        assert_eq!(
            allowed.for_path("/api/v1/users/me"),
            [Method::GET, Method::PUT, Method::DELETE, Method::HEAD]
        );
    }
}
