//! Each operation's id and its own errors, with their messages and
//! examples: what the generated document cannot say. Summaries and
//! descriptions come from the routes' doc comments, security from the
//! extractors they take.
//!
//! The ids are set here rather than with `#[oai(operation_id = …)]`:
//! poem-openapi then stores the id in every answer's extensions, three
//! allocations per request for a name only the document needs.

use serde_json::{Map, Value, json};

use domain::AccessRules;

use super::access::{AccessNote, access_note};

/// One operation's id and errors.
struct Operation {
    method: &'static str,
    path: &'static str,
    id: &'static str,
    /// Errors of the operation itself, with their messages.
    errors: &'static [(u16, &'static [&'static str])],
    /// Whether it reads the storage, and so may fail with `500` or `503`.
    uses_storage: bool,
}

const BAD_BODY: (u16, &[&str]) = (413, &["Payload too large"]);
const NOT_FOUND: (u16, &[&str]) = (404, &["Not found"]);
const THROTTLED: (u16, &[&str]) = (429, &["Too many attempts"]);

/// An operation that reads the storage.
const fn operation(
    method: &'static str,
    path: &'static str,
    id: &'static str,
    errors: &'static [(u16, &'static [&'static str])],
) -> Operation {
    Operation {
        method,
        path,
        id,
        errors,
        uses_storage: true,
    }
}

/// An operation with a fixed answer, which no storage failure reaches.
const fn fixed(
    path: &'static str,
    id: &'static str,
    errors: &'static [(u16, &'static [&'static str])],
) -> Operation {
    Operation {
        uses_storage: false,
        ..operation("get", path, id, errors)
    }
}

const OPERATIONS: &[Operation] = &[
    fixed("/api/v1/status", "getStatus", &[]),
    operation("get", "/api/v1/stats", "getStats", &[]),
    fixed(
        "/api/v1/unauthorized",
        "getUnauthorized",
        &[(401, &["Unauthorized"])],
    ),
    fixed(
        "/api/v1/forbidden",
        "getForbidden",
        &[(403, &["Forbidden"])],
    ),
    operation("get", "/api/v1/users", "listUsers", &[]),
    operation(
        "post",
        "/api/v1/users",
        "createUser",
        &[
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
    ),
    operation(
        "get",
        super::current_user::PATH,
        "getCurrentUser",
        &[NOT_FOUND],
    ),
    operation("get", "/api/v1/users/{user_id}", "getUser", &[NOT_FOUND]),
    operation(
        "put",
        "/api/v1/users/{user_id}",
        "updateUser",
        &[(400, &["Wrong format"]), NOT_FOUND, BAD_BODY],
    ),
    operation(
        "delete",
        "/api/v1/users/{user_id}",
        "deleteUser",
        &[NOT_FOUND],
    ),
    operation(
        "post",
        "/api/v1/auth_session/login",
        "login",
        &[
            (400, &["email missing", "password missing"]),
            (401, &["wrong password"]),
            (404, &["no user found for this email", "Not found"]),
            BAD_BODY,
            THROTTLED,
        ],
    ),
    operation(
        "delete",
        "/api/v1/auth_session/logout",
        "logout",
        &[NOT_FOUND],
    ),
    operation(
        "get",
        "/api/v1/auth_session/sessions",
        "listSessions",
        &[NOT_FOUND],
    ),
    operation(
        "delete",
        "/api/v1/auth_session/sessions",
        "endSessions",
        &[(400, &["Bad request"]), NOT_FOUND],
    ),
    operation(
        "delete",
        "/api/v1/auth_session/sessions/{handle}",
        "endSession",
        &[NOT_FOUND],
    ),
    operation(
        "put",
        "/api/v1/users/me/password",
        "changePassword",
        &[
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
            THROTTLED,
        ],
    ),
    operation(
        "post",
        "/api/v1/auth_session/password_reset",
        "resetPassword",
        &[
            (
                400,
                &[
                    "email missing",
                    "token missing",
                    "new_password missing",
                    domain::INVALID_RESET_TOKEN,
                    "new_password: password must be at least 12 characters",
                ],
            ),
            (404, &["Not found"]),
            BAD_BODY,
        ],
    ),
];

/// Gives every operation of `doc` its id, what `access` changes in it
/// (see [`access_note`]) and its own errors, and declares the media type
/// the server sends.
pub(super) fn describe(doc: &mut Value, access: AccessRules) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for operation in OPERATIONS {
        let Some(op) = paths
            .get_mut(operation.path)
            .and_then(|p| p.get_mut(operation.method))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        // The extractor that reads the gate's caller declares security:
        // the operations the gate guards.
        let guarded = op.contains_key("security");
        let note = access_note(operation.id, access);
        op.insert("operationId".into(), json!(operation.id));
        if let Some(said) = &note.note {
            let own = op.get("description").and_then(Value::as_str).unwrap_or("");
            op.insert("description".into(), json!(format!("{own}\n\n{said}")));
        }
        if note.administrators_only {
            op.insert("x-administrators-only".into(), json!(true));
        }
        if note.anonymous {
            op.remove("security");
        }
        let errors = errors_of(operation, guarded, note);
        write_errors(op, &errors);
    }
}

/// The errors `operation` answers, one entry per status with its messages
/// in the order they came: its own, the gate's when `guarded`, the
/// storage's, then what the access rules add.
fn errors_of(
    operation: &Operation,
    guarded: bool,
    note: AccessNote,
) -> Vec<(u16, Vec<&'static str>)> {
    let mut errors: Vec<(u16, Vec<&str>)> = operation
        .errors
        .iter()
        .map(|(status, messages)| (*status, messages.to_vec()))
        .collect();
    if guarded {
        if !note.anonymous {
            errors.push((401, vec!["Unauthorized"]));
        }
        errors.push((403, vec!["Forbidden"]));
        // Basic credentials are password checks: the gate throttles them
        // on every guarded operation.
        if !errors.iter().any(|(status, _)| *status == 429) {
            errors.push((429, vec!["Too many attempts"]));
        }
    }
    if operation.uses_storage {
        errors.push((500, vec!["Internal server error"]));
        errors.push((503, vec!["Service unavailable"]));
    }
    errors.extend(note.errors);
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
    merged
}

/// Keeps the operation's successes and only `errors` among its responses,
/// each error saying its messages with the first as the example.
fn write_errors(op: &mut Map<String, Value>, errors: &[(u16, Vec<&str>)]) {
    let error_schema = json!({ "$ref": "#/components/schemas/ErrorBody" });
    let responses = op.entry("responses").or_insert_with(|| json!({}));
    let Some(responses) = responses.as_object_mut() else {
        return;
    };
    responses.retain(|status, _| {
        status.starts_with('2') || errors.iter().any(|(s, _)| s.to_string() == *status)
    });
    for response in responses.values_mut() {
        bare_json_media_type(response);
    }
    for (status, messages) in errors {
        let example = messages.first().copied().unwrap_or("");
        let messages: Vec<String> = messages.iter().map(|m| format!("`{m}`")).collect();
        // Keep what the generator declared (the `Retry-After` header of a
        // 429); say this operation's messages.
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

/// `application/json; charset=utf-8` → `application/json`, the header the
/// server sends.
fn bare_json_media_type(response: &mut Value) {
    if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
        && let Some(body) = content.remove("application/json; charset=utf-8")
    {
        content.insert("application/json".into(), body);
    }
}
