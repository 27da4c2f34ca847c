//! The OpenAPI document and Swagger UI, and the table of allowed methods
//! derived from the document.
//!
//! poem-openapi generates the document from the routes: their paths,
//! parameters, bodies, answers, security, and (from their doc comments)
//! summaries and descriptions. This module adds only what depends on the
//! running configuration or what the generator cannot say: the operation
//! ids and errors ([`operations`]), what the access rules change
//! ([`access`]), the one security scheme that works ([`security`]) and the
//! schemas' finer points ([`schemas`]).

mod access;
mod allowed;
mod current_user;
mod operations;
mod schemas;
mod security;

use poem_openapi::OpenApiService;
use serde_json::{Value, json};

use domain::AccessRules;

use crate::api::Api;
use crate::extract::COOKIE_NAME_PLACEHOLDER;
use crate::recovery_api::RecoveryApi;

pub use allowed::AllowedMethods;
pub use security::DocAuth;

/// What the introduction says first, whatever the configuration.
pub(crate) const SERVICE: &str =
    "User and session authentication, compatible with the Flask \"Session authentication\" API.";

/// Makes the generated document tell the truth for `auth`, the session
/// cookie `session_name` and `access`.
fn refine(doc: &mut Value, auth: DocAuth, session_name: &str, access: AccessRules) {
    current_user::add(doc);
    operations::describe(doc, access);
    security::keep_working_schemes(doc, auth);
    schemas::refine(doc, access);
    let description = format!(
        "{SERVICE}\n\n{}\n\n{}",
        auth.introduction(session_name),
        access::access_summary(access)
    );
    if let Some(info) = doc.get_mut("info").and_then(Value::as_object_mut) {
        info.insert("description".into(), json!(description));
    }
}

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
    /// Renders the documents of `service` for the active authentication
    /// (`auth`) and access rules, with the configured cookie name.
    pub fn new(
        service: &OpenApiService<(Api, RecoveryApi), ()>,
        session_name: &str,
        auth: DocAuth,
        access: AccessRules,
    ) -> Self {
        let raw = service.spec();
        let generated = raw.replace(COOKIE_NAME_PLACEHOLDER, session_name);
        let (spec, page_spec, allowed) = match serde_json::from_str::<Value>(&generated) {
            Ok(mut doc) => {
                refine(&mut doc, auth, session_name, access);
                let allowed = AllowedMethods::from_document(&doc);
                let spec = serde_json::to_string_pretty(&doc).unwrap_or(generated);
                security::for_the_page(&mut doc, auth);
                let page_spec = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| spec.clone());
                (spec, page_spec, allowed)
            }
            Err(_) => (generated.clone(), generated, AllowedMethods::default()),
        };
        // poem-openapi's page (its assets inlined, nothing fetched from
        // elsewhere) showing the page's copy of this document.
        let swagger_html = service.swagger_ui_html().replace(&raw, &page_spec);
        Self {
            spec,
            swagger_html,
            allowed,
        }
    }
}
