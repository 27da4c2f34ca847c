//! The security the document declares: only the scheme that works under
//! the active `AUTH_TYPE`, and the introduction that says how to
//! authenticate from Swagger UI. The page goes one step further than the
//! document: it offers in Authorize only what a browser page can send
//! ([`for_the_page`]).

use serde_json::{Value, json};

use crate::extract::{BASIC_SCHEME, COOKIE_SCHEME};

/// Which authentication the document describes: only what works from a
/// browser page under the active `AUTH_TYPE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocAuth {
    /// A session policy: the cookie scheme only. The login operation sets
    /// the cookie and the browser sends it (a page cannot set a `Cookie`
    /// header itself, so Log in, not Authorize, is how to authenticate).
    Session,
    /// `basic_auth`: HTTP Basic in Authorize.
    Basic,
    /// `auth` or `none`: nothing to declare.
    Nothing,
}

impl DocAuth {
    /// The security scheme that works from a browser page, if any.
    fn working_scheme(self) -> Option<&'static str> {
        match self {
            Self::Session => Some(COOKIE_SCHEME),
            Self::Basic => Some(BASIC_SCHEME),
            Self::Nothing => None,
        }
    }

    /// What the introduction says about authenticating from this page,
    /// with the session cookie named `session_name`.
    pub(super) fn introduction(self, session_name: &str) -> String {
        match self {
            Self::Session => format!(
                "To call the guarded operations from this page, run **Log in** (`POST /api/v1/auth_session/login`) with \"Try it out\": the answer sets the `{session_name}` cookie in this browser, which then sends it with every other operation. **Log out** ends it."
            ),
            Self::Basic => "This server authenticates every request with HTTP Basic: use **Authorize** with an email and password.".to_owned(),
            Self::Nothing => "This server resolves no user (AUTH_TYPE `auth` or `none`).".to_owned(),
        }
    }
}

/// Declares only the scheme that works for `auth` (none for `auth` and
/// `none`), and makes every operation's security name only that scheme.
pub(super) fn keep_working_schemes(doc: &mut Value, auth: DocAuth) {
    let working = auth.working_scheme();
    if let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut)
        && let Some(schemes) = components
            .get_mut("securitySchemes")
            .and_then(Value::as_object_mut)
    {
        schemes.retain(|name, _| Some(name.as_str()) == working);
        if let Some(cookie) = schemes.get_mut(COOKIE_SCHEME) {
            cookie["description"] = json!(
                "The session cookie, set by Log in (`POST /api/v1/auth_session/login`). From this page, run Log in with \"Try it out\": the browser keeps the cookie and sends it by itself (a page cannot set a Cookie header, so pasting a value in Authorize does not work)."
            );
        }
        if let Some(basic) = schemes.get_mut(BASIC_SCHEME) {
            basic["description"] =
                json!("HTTP Basic with email and password: use Authorize on this page.");
        }
        if schemes.is_empty() {
            components.remove("securitySchemes");
        }
    }
    for operation in operations_mut(doc) {
        let Some(requirements) = operation.get_mut("security").and_then(Value::as_array_mut) else {
            continue;
        };
        requirements.retain(|requirement| {
            requirement
                .as_object()
                .is_some_and(|r| r.keys().all(|name| Some(name.as_str()) == working))
        });
        if requirements.is_empty() {
            operation.remove("security");
        }
    }
}

/// What Swagger UI's page shows of `doc` (a copy of the served document):
/// under a session policy nothing in Authorize, because a page cannot set
/// a `Cookie` header, so a pasted token would show "Authorized" and then
/// be answered 401. Each guarded operation says instead to run Log in
/// first; the browser then sends the cookie by itself. The document at
/// `/api/v1/openapi.json` keeps the cookie scheme, which other clients
/// (curl, generated clients, schemathesis) can use.
pub(super) fn for_the_page(doc: &mut Value, auth: DocAuth) {
    if auth != DocAuth::Session {
        return;
    }
    if let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) {
        components.remove("securitySchemes");
    }
    for operation in operations_mut(doc) {
        if operation.remove("security").is_none() {
            continue;
        }
        let own = operation
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("");
        let said = format!(
            "{own}\n\n**Needs a session:** run **Log in** (`POST /api/v1/auth_session/login`) first; this page then sends its cookie by itself."
        );
        operation.insert("description".into(), json!(said.trim_start()));
    }
}

/// Every operation of `doc`, under every path.
fn operations_mut(doc: &mut Value) -> impl Iterator<Item = &mut serde_json::Map<String, Value>> {
    doc.get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|operations| operations.values_mut())
        .filter_map(Value::as_object_mut)
}
