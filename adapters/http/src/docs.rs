//! The OpenAPI document and Swagger UI, and the table of allowed methods
//! derived from the document (so a `405`'s `Allow` header cannot drift from
//! the routes).

use poem::http::Method;
use poem_openapi::OpenApiService;
use serde_json::{Value, json};

use domain::{AccessPolicy, AccessRules, FORBIDDEN_ADMINS_ONLY, Registration};

use crate::api::Api;
use crate::extract::{BASIC_SCHEME, COOKIE_NAME_PLACEHOLDER, COOKIE_SCHEME};

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

/// One operation as the document describes it.
struct Operation {
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    description: &'static str,
    guarded: bool,
    /// Errors of the operation itself, with their messages.
    errors: &'static [(u16, &'static [&'static str])],
}

const BAD_BODY: (u16, &[&str]) = (413, &["Payload too large"]);
const NOT_FOUND: (u16, &[&str]) = (404, &["Not found"]);

const OPERATIONS: &[Operation] = &[
    Operation {
        method: "get",
        path: "/api/v1/status",
        id: "getStatus",
        summary: "Service status",
        description: "Answers `{\"status\": \"OK\"}` while the process runs. Needs no credentials.",
        guarded: false,
        errors: &[],
    },
    Operation {
        method: "get",
        path: "/api/v1/stats",
        id: "getStats",
        summary: "Count users",
        description: "How many users exist.",
        guarded: true,
        errors: &[],
    },
    Operation {
        method: "get",
        path: "/api/v1/unauthorized",
        id: "getUnauthorized",
        summary: "Always 401",
        description: "Always answers 401, a target for testing a client's error handling. Needs no credentials.",
        guarded: false,
        errors: &[(401, &["Unauthorized"])],
    },
    Operation {
        method: "get",
        path: "/api/v1/forbidden",
        id: "getForbidden",
        summary: "Always 403",
        description: "Always answers 403, a target for testing a client's error handling. Needs no credentials.",
        guarded: false,
        errors: &[(403, &["Forbidden"])],
    },
    Operation {
        method: "get",
        path: "/api/v1/users",
        id: "listUsers",
        summary: "List users",
        description: "Every user, in creation order.",
        guarded: true,
        errors: &[],
    },
    Operation {
        method: "post",
        path: "/api/v1/users",
        id: "createUser",
        summary: "Create a user",
        description: "Creates a user from a JSON body; `email` and `password` are required, the email must be unused and the password within the configured length limits.",
        guarded: true,
        errors: &[
            (
                400,
                &[
                    "Wrong format",
                    "email missing",
                    "password missing",
                    "Can't create User: email already exists",
                    "Can't create User: password must be at least 12 characters",
                ],
            ),
            BAD_BODY,
        ],
    },
    Operation {
        method: "get",
        path: "/api/v1/users/{user_id}",
        id: "getUser",
        summary: "Get a user",
        description: "One user by id; the id `me` names the current user.",
        guarded: true,
        errors: &[NOT_FOUND],
    },
    Operation {
        method: "put",
        path: "/api/v1/users/{user_id}",
        id: "updateUser",
        summary: "Rename a user",
        description: "Changes `first_name` and/or `last_name`; other fields are ignored, an absent or null name is left as it is.",
        guarded: true,
        errors: &[(400, &["Wrong format"]), NOT_FOUND, BAD_BODY],
    },
    Operation {
        method: "delete",
        path: "/api/v1/users/{user_id}",
        id: "deleteUser",
        summary: "Delete a user",
        description: "Deletes a user and ends all of their sessions.",
        guarded: true,
        errors: &[NOT_FOUND],
    },
    Operation {
        method: "post",
        path: "/api/v1/auth_session/login",
        id: "login",
        summary: "Log in",
        description: "Checks the email and password (form fields) and answers the user with a `Set-Cookie` header holding a new session. In Swagger UI, \"Try it out\" here logs the page in: the browser keeps the cookie and sends it with the other operations. Only under the session policies (404 otherwise).",
        guarded: false,
        errors: &[
            (400, &["email missing", "password missing"]),
            (401, &["wrong password"]),
            (404, &["no user found for this email", "Not found"]),
            BAD_BODY,
            (429, &["Too many attempts"]),
        ],
    },
    Operation {
        method: "delete",
        path: "/api/v1/auth_session/logout",
        id: "logout",
        summary: "Log out",
        description: "Ends the session of the request's cookie and expires the cookie.",
        guarded: true,
        errors: &[NOT_FOUND],
    },
    Operation {
        method: "get",
        path: "/api/v1/auth_session/sessions",
        id: "listSessions",
        summary: "List my sessions",
        description: "The current user's live sessions, oldest first; `current` marks the request's own.",
        guarded: true,
        errors: &[NOT_FOUND],
    },
    Operation {
        method: "delete",
        path: "/api/v1/auth_session/sessions",
        id: "endSessions",
        summary: "End my sessions",
        description: "Ends all of the current user's sessions, or all but the request's own with `keep_current=true`; when the request's own session ends, its cookie is expired too.",
        guarded: true,
        errors: &[(400, &["Bad request"]), NOT_FOUND],
    },
    Operation {
        method: "delete",
        path: "/api/v1/auth_session/sessions/{handle}",
        id: "endSession",
        summary: "End one of my sessions",
        description: "Ends one of the current user's sessions by the handle `GET /auth_session/sessions` lists.",
        guarded: true,
        errors: &[NOT_FOUND],
    },
    Operation {
        method: "put",
        path: "/api/v1/users/me/password",
        id: "changePassword",
        summary: "Change my password",
        description: "Checks `current_password`, sets `new_password` (within the configured length limits) and ends the user's other sessions.",
        guarded: true,
        errors: &[
            (
                400,
                &[
                    "Wrong format",
                    "current_password missing",
                    "new_password missing",
                ],
            ),
            (401, &["wrong password"]),
            NOT_FOUND,
            BAD_BODY,
            (429, &["Too many attempts"]),
        ],
    },
];

/// What the active `ACCESS_POLICY` and `REGISTRATION` change in one
/// operation's description and errors.
struct AccessNote {
    /// Said after the operation's own description.
    note: Option<String>,
    /// Errors added to the operation's own.
    errors: Vec<(u16, Vec<&'static str>)>,
    /// Whether anonymous callers may call it (no security requirement, no
    /// 401).
    anonymous: bool,
    /// Whether only administrators may call it (`x-administrators-only`).
    administrators_only: bool,
}

const LAST_ADMIN_UPDATE: &str = "Can't update User: the last administrator cannot lose the right";
const LAST_ADMIN_DELETE: &str = "Can't delete User: the last administrator cannot be deleted";

/// How `access` changes the operation `id`.
fn access_note(id: &str, access: AccessRules) -> AccessNote {
    let owner = access.policy == AccessPolicy::Owner;
    let registration = access.registration == Registration::Open;
    let mut note = AccessNote {
        note: None,
        errors: Vec::new(),
        anonymous: false,
        administrators_only: false,
    };
    let forbidden = (403, vec![FORBIDDEN_ADMINS_ONLY]);
    match (id, owner) {
        ("listUsers", true) => {
            note.note = Some("This server applies `ACCESS_POLICY=owner`: a user who is not an administrator gets a list of one, themselves.".into());
        }
        ("getUser", true) => {
            note.note = Some("This server applies `ACCESS_POLICY=owner`: to a user who is not an administrator, another user's id answers 404 as an unknown id does (ids are not confirmed).".into());
        }
        ("updateUser", true) => {
            note.note = Some(format!(
                "This server applies `ACCESS_POLICY=owner`: a user who is not an administrator may change only their own user (another id answers 404) and not `is_admin` (403 `{FORBIDDEN_ADMINS_ONLY}`; sending the value it has is harmless). An administrator may change any user's `is_admin`, except that the last administrator keeps the right (409)."
            ));
            note.errors = vec![forbidden, (409, vec![LAST_ADMIN_UPDATE])];
        }
        ("deleteUser", true) => {
            note.note = Some("This server applies `ACCESS_POLICY=owner`: a user who is not an administrator may delete only their own user (another id answers 404); an administrator may delete anyone but the last administrator (409).".into());
            note.errors = vec![(409, vec![LAST_ADMIN_DELETE])];
        }
        ("getStats", true) => {
            note.note = Some(format!(
                "Administrators only on this server (`ACCESS_POLICY=owner`): other users get 403 `{FORBIDDEN_ADMINS_ONLY}`."
            ));
            note.errors = vec![forbidden];
            note.administrators_only = true;
        }
        ("createUser", _) => {
            let mut said = Vec::new();
            if registration {
                said.push("Open to anyone on this server (`REGISTRATION=open`): called without credentials, it registers a user who is not an administrator, at most `THROTTLE_ADDRESS_FAILURES` per client address per `THROTTLE_BACKOFF` (429 beyond).".to_owned());
                note.anonymous = true;
                note.errors.push((429, vec!["Too many attempts"]));
            }
            if owner {
                said.push(format!("Logged-in users must be administrators (`ACCESS_POLICY=owner`): others get 403 `{FORBIDDEN_ADMINS_ONLY}`."));
                note.errors.push(forbidden);
                note.administrators_only = !registration;
            }
            note.note = (!said.is_empty()).then(|| said.join(" "));
        }
        _ => {}
    }
    note
}

/// Makes the generated document tell the truth: operation ids,
/// descriptions and each operation's own errors with their messages and
/// examples, required fields, `format: password`, the media type the
/// server sends, only the security scheme that works for `auth` (see
/// [`keep_working_schemes`]), and what the access policy allows whom
/// (see [`access_note`]).
fn refine(doc: &mut Value, auth: DocAuth, session_name: &str, access: AccessRules) {
    let error_schema = json!({ "$ref": "#/components/schemas/ErrorBody" });
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for operation in OPERATIONS {
            let Some(op) = paths
                .get_mut(operation.path)
                .and_then(|p| p.get_mut(operation.method))
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            let access_note = access_note(operation.id, access);
            op.insert("operationId".into(), json!(operation.id));
            op.insert("summary".into(), json!(operation.summary));
            let description = match &access_note.note {
                Some(note) => format!("{}\n\n{note}", operation.description),
                None => operation.description.to_owned(),
            };
            op.insert("description".into(), json!(description));
            if access_note.administrators_only {
                op.insert("x-administrators-only".into(), json!(true));
            }
            if access_note.anonymous {
                op.remove("security");
            }
            let mut errors: Vec<(u16, Vec<&str>)> = operation
                .errors
                .iter()
                .map(|(status, messages)| (*status, messages.to_vec()))
                .collect();
            if operation.guarded {
                if !access_note.anonymous {
                    errors.push((401, vec!["Unauthorized"]));
                }
                errors.push((403, vec!["Forbidden"]));
                // Basic credentials are password checks: the gate
                // throttles them on every guarded operation.
                if !errors.iter().any(|(status, _)| *status == 429) {
                    errors.push((429, vec!["Too many attempts"]));
                }
            }
            if operation.id != "getStatus"
                && operation.id != "getUnauthorized"
                && operation.id != "getForbidden"
            {
                errors.push((500, vec!["Internal server error"]));
                errors.push((503, vec!["Service unavailable"]));
            }
            // One entry per status, its messages in the order they came.
            for (status, messages) in access_note.errors {
                errors.push((status, messages));
            }
            let mut merged: Vec<(u16, Vec<&str>)> = Vec::new();
            for (status, messages) in errors {
                match merged.iter_mut().find(|(s, _)| *s == status) {
                    Some((_, known)) => {
                        for message in messages {
                            if !known.contains(&message) {
                                known.push(message);
                            }
                        }
                    }
                    None => merged.push((status, messages)),
                }
            }
            let errors = merged;
            let responses = op.entry("responses").or_insert_with(|| json!({}));
            if let Some(responses) = responses.as_object_mut() {
                responses.retain(|status, _| {
                    status.starts_with('2') || errors.iter().any(|(s, _)| s.to_string() == *status)
                });
                for response in responses.values_mut() {
                    bare_json_media_type(response);
                }
                for (status, messages) in errors {
                    let example = messages.first().copied().unwrap_or("");
                    let messages: Vec<String> = messages.iter().map(|m| format!("`{m}`")).collect();
                    // Keep what the generator declared (the `Retry-After`
                    // header of a 429); say this operation's messages.
                    let entry = responses
                        .entry(status.to_string())
                        .or_insert_with(|| json!({}));
                    entry["description"] = json!(messages.join(", "));
                    entry["content"] = json!({ "application/json": {
                        "schema": error_schema,
                        "example": { "error": example },
                    }});
                }
            }
        }
    }
    keep_working_schemes(doc, auth);
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        let set =
            |schemas: &mut serde_json::Map<String, Value>, name: &str, key: &str, value: Value| {
                if let Some(schema) = schemas.get_mut(name).and_then(Value::as_object_mut) {
                    schema.insert(key.into(), value);
                }
            };
        // The same for one property of a schema.
        let set_property = |schemas: &mut serde_json::Map<String, Value>,
                            name: &str,
                            property: &str,
                            key: &str,
                            value: Value| {
            if let Some(property) = schemas
                .get_mut(name)
                .and_then(|schema| schema.get_mut("properties"))
                .and_then(|properties| properties.get_mut(property))
            {
                property[key] = value;
            }
        };
        set(
            schemas,
            "CreateUserRequest",
            "required",
            json!(["email", "password"]),
        );
        set(
            schemas,
            "CreateUserRequest",
            "example",
            json!({
            "email": "bob@example.com", "password": "a long secret",
            "first_name": "Bob", "last_name": "Dylan" }),
        );
        set(
            schemas,
            "LoginForm",
            "required",
            json!(["email", "password"]),
        );
        set(
            schemas,
            "LoginForm",
            "example",
            json!({ "email": "bob@example.com", "password": "a long secret" }),
        );
        // Swagger UI fills a form's fields from each property's own example
        // (not the schema's): without them it shows `string`.
        for (field, example) in [("email", "bob@example.com"), ("password", "a long secret")] {
            set_property(schemas, "LoginForm", field, "example", json!(example));
        }
        set(
            schemas,
            "ChangePasswordRequest",
            "required",
            json!(["current_password", "new_password"]),
        );
        set(
            schemas,
            "ChangePasswordRequest",
            "example",
            json!({
            "current_password": "a long secret", "new_password": "a longer secret" }),
        );
        set(
            schemas,
            "UpdateUserRequest",
            "example",
            json!({ "first_name": "Robert" }),
        );
        // The administrator flag exists on the wire only under the owner
        // policy: under `open` a user is exactly the Flask API's, and a
        // change's `is_admin` is ignored as any unknown field.
        if access.policy == AccessPolicy::Open {
            for name in ["UserBody", "UpdateUserRequest"] {
                if let Some(properties) = schemas
                    .get_mut(name)
                    .and_then(|schema| schema.get_mut("properties"))
                    .and_then(Value::as_object_mut)
                {
                    properties.remove("is_admin");
                }
            }
        }
        // Answers always carry every key; the optional ones as null.
        for (name, nullable) in [
            ("UserBody", &["first_name", "last_name"][..]),
            ("SessionBody", &["client_address", "user_agent"][..]),
        ] {
            if let Some(schema) = schemas.get_mut(name).and_then(Value::as_object_mut) {
                let keys: Vec<Value> = schema
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|p| p.keys().map(|k| json!(k)).collect())
                    .unwrap_or_default();
                schema.insert("required".into(), Value::Array(keys));
            }
            for key in nullable {
                set_property(schemas, name, key, "nullable", json!(true));
            }
        }
        // Names may be null in requests, as the Flask API took them: no name
        // on `POST /users`, "leave it as it is" on `PUT /users/<id>`.
        for schema in ["UpdateUserRequest", "CreateUserRequest"] {
            for name in ["first_name", "last_name"] {
                set_property(schemas, schema, name, "nullable", json!(true));
            }
        }
        let mut user_example = json!({
            "id": "5a6c4f8e-2a0c-4b8e-9a53-0c1c8f5e3d21", "email": "bob@example.com",
            "first_name": "Bob", "last_name": "Dylan",
            "created_at": "2026-01-31T12:00:00", "updated_at": "2026-01-31T12:00:00" });
        if access.policy == AccessPolicy::Owner {
            user_example["is_admin"] = json!(false);
        }
        set(schemas, "UserBody", "example", user_example);
        set(
            schemas,
            "ErrorBody",
            "example",
            json!({ "error": "Not found" }),
        );
        set(schemas, "StatusBody", "example", json!({ "status": "OK" }));
        set(schemas, "StatsBody", "example", json!({ "users": 3 }));
        set(schemas, "EndedBody", "example", json!({ "ended": 2 }));
    }
    mark_passwords(doc);
    let description = match auth {
        DocAuth::Session => format!(
            "User and session authentication, compatible with the Flask \"Session authentication\" API.\n\nTo call the guarded operations from this page, run **Log in** (`POST /api/v1/auth_session/login`) with \"Try it out\": the answer sets the `{session_name}` cookie in this browser, which then sends it with every other operation. **Log out** ends it."
        ),
        DocAuth::Basic => "User and session authentication, compatible with the Flask \"Session authentication\" API.\n\nThis server authenticates every request with HTTP Basic: use **Authorize** with an email and password.".to_owned(),
        DocAuth::Nothing => "User and session authentication, compatible with the Flask \"Session authentication\" API.\n\nThis server resolves no user (AUTH_TYPE `auth` or `none`).".to_owned(),
    };
    let description = format!("{description}\n\n{}", access_summary(access));
    if let Some(info) = doc.get_mut("info").and_then(Value::as_object_mut) {
        info.insert("description".into(), json!(description));
    }
}

/// What the document's introduction says about who may do what.
fn access_summary(access: AccessRules) -> String {
    let policy = match access.policy {
        AccessPolicy::Open => {
            "Access policy `open` (the Flask API's): every logged-in user may list, read, change and delete every user."
        }
        AccessPolicy::Owner => {
            "Access policy `owner`: a user who is not an administrator sees and changes only their own user (other ids answer 404) and cannot create users or read the user count; administrators may do everything, except take the right from the last administrator. Users show `is_admin`."
        }
    };
    let registration = match access.registration {
        Registration::Closed => "Creating a user needs a logged-in caller.",
        Registration::Open => {
            "Anyone may register: `POST /api/v1/users` without credentials creates a user who is not an administrator (limited per client address)."
        }
    };
    format!("{policy} {registration}")
}

/// The security scheme that works from a browser page under `auth`, if any.
fn working_scheme(auth: DocAuth) -> Option<&'static str> {
    match auth {
        DocAuth::Session => Some(COOKIE_SCHEME),
        DocAuth::Basic => Some(BASIC_SCHEME),
        DocAuth::Nothing => None,
    }
}

/// Declares only the scheme that works for `auth` (none for `auth` and
/// `none`), and makes every operation's security name only that scheme.
fn keep_working_schemes(doc: &mut Value, auth: DocAuth) {
    let working = working_scheme(auth);
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
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for operations in paths.values_mut() {
            let Some(operations) = operations.as_object_mut() else {
                continue;
            };
            for operation in operations.values_mut() {
                let Some(operation) = operation.as_object_mut() else {
                    continue;
                };
                let Some(requirements) =
                    operation.get_mut("security").and_then(Value::as_array_mut)
                else {
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
    }
}

/// `application/json; charset=utf-8` → `application/json`, the header the
/// server sends.
fn bare_json_media_type(response: &mut Value) {
    if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
        && let Some(body) = content.remove("application/json; charset=utf-8")
    {
        content.insert("application/json".into(), body);
    }
}

/// Every property named like a password gets `format: password` (Swagger
/// UI masks it).
fn mark_passwords(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(properties) = map.get_mut("properties").and_then(Value::as_object_mut) {
                for (name, property) in properties.iter_mut() {
                    if name.contains("password")
                        && let Some(property) = property.as_object_mut()
                    {
                        property.insert("format".into(), json!("password"));
                    }
                }
            }
            for child in map.values_mut() {
                mark_passwords(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mark_passwords),
        _ => {}
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
        service: &OpenApiService<Api, ()>,
        session_name: &str,
        auth: DocAuth,
        access: AccessRules,
    ) -> Self {
        let raw = service.spec();
        let generated = raw.replace(COOKIE_NAME_PLACEHOLDER, session_name);
        let spec = match serde_json::from_str::<Value>(&generated) {
            Ok(mut doc) => {
                refine(&mut doc, auth, session_name, access);
                serde_json::to_string_pretty(&doc).unwrap_or(generated)
            }
            Err(_) => generated,
        };
        // poem-openapi's page (its assets inlined, nothing fetched from
        // elsewhere) showing this document instead of the generated one.
        let swagger_html = service.swagger_ui_html().replace(&raw, &spec);
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
