//! The OpenAPI document and Swagger UI, and the table of allowed methods
//! derived from the document (so a `405`'s `Allow` header cannot drift from
//! the routes).

use poem::http::Method;
use poem_openapi::OpenApiService;

use crate::api::Api;
use crate::extract::COOKIE_NAME_PLACEHOLDER;

/// The documents served at [`crate::OPENAPI_PATH`] and [`crate::DOCS_PATH`].
pub struct Documents {
    /// The OpenAPI document (JSON).
    pub spec: String,
    /// Swagger UI with the document inlined.
    pub swagger_html: String,
    /// Which methods each documented path accepts.
    pub allowed: AllowedMethods,
}

impl Documents {
    /// Renders the documents of `service` with the configured cookie name
    /// in its security scheme.
    pub fn new(service: &OpenApiService<Api, ()>, session_name: &str) -> Self {
        let spec = service
            .spec()
            .replace(COOKIE_NAME_PLACEHOLDER, session_name);
        let swagger_html = service
            .swagger_ui_html()
            .replace(COOKIE_NAME_PLACEHOLDER, session_name);
        let allowed = AllowedMethods::from_spec(&spec);
        Self {
            spec,
            swagger_html,
            allowed,
        }
    }
}

/// Path templates of the document with their methods.
#[derive(Debug, Default)]
pub struct AllowedMethods(Vec<(Vec<Segment>, Vec<Method>)>);

#[derive(Debug)]
enum Segment {
    Literal(String),
    Parameter,
}

impl AllowedMethods {
    fn from_spec(spec: &str) -> Self {
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(spec) else {
            return Self::default();
        };
        let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) else {
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
            .collect::<Vec<_>>();
        // poem answers HEAD wherever GET is routed; the document lists GET
        // only.
        if methods.contains(&Method::GET) && !methods.contains(&Method::HEAD) {
            methods.push(Method::HEAD);
        }
        methods
    }
}
