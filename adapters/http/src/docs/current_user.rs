//! `GET /api/v1/users/me` as an operation of its own in the document. The
//! route is `GET /users/{user_id}` with `me` for the id (the contract's
//! behaviour, unchanged); a reader should not have to guess `me`, so the
//! document shows it as its own path with its own example. Only the
//! document changes: the router still answers it through `getUser`.

use serde_json::{Value, json};

/// The documented path of the signed-in user.
pub(super) const PATH: &str = "/api/v1/users/me";

/// Adds `GET /api/v1/users/me`, made from `GET /api/v1/users/{user_id}`
/// without its parameter.
pub(super) fn add(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(mut get) = paths
        .get("/api/v1/users/{user_id}")
        .and_then(|p| p.get("get"))
        .cloned()
    else {
        return;
    };
    let Some(op) = get.as_object_mut() else {
        return;
    };
    op.remove("parameters");
    op.insert("summary".into(), json!("The signed-in user"));
    op.insert(
        "description".into(),
        json!(
            "The user the request is authenticated as (the session cookie set by Log in, or Basic credentials under `basic_auth`). The same answer as `GET /api/v1/users/{user_id}` with `me` for the id. When no authentication policy is active (`AUTH_TYPE` unset or `none`) there is no current user: 404."
        ),
    );
    if let Some(ok) = op
        .get_mut("responses")
        .and_then(|r| r.get_mut("200"))
        .and_then(|r| r.get_mut("content"))
        .and_then(Value::as_object_mut)
    {
        for media in ok.values_mut() {
            media["example"] = json!({
                "id": "5a6c4f8e-2a0c-4b8e-9a53-0c1c8f5e3d21",
                "email": "bob@example.com",
                "first_name": "Bob",
                "last_name": "Dylan",
                "created_at": "2026-12-01T09:30:00",
                "updated_at": "2026-12-01T09:30:00"
            });
        }
    }
    // `/users/me/password` and the others stay after it, as declared.
    let mut ordered = serde_json::Map::new();
    for (path, operations) in std::mem::take(paths) {
        if path == "/api/v1/users/{user_id}" {
            ordered.insert(PATH.to_owned(), json!({ "get": get.clone() }));
        }
        ordered.insert(path, operations);
    }
    *paths = ordered;
}
