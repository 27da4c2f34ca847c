//! What the schemas of the generated document cannot say by themselves:
//! required fields (the wire types read every field as optional to answer
//! the Flask API's messages), nullable names, examples, `format: password`,
//! and the administrator flag only under `ACCESS_POLICY=owner`.

use serde_json::{Map, Value, json};

use domain::{AccessPolicy, AccessRules};

/// Sets `key` of the schema `name`.
fn set(schemas: &mut Map<String, Value>, name: &str, key: &str, value: Value) {
    if let Some(schema) = schemas.get_mut(name).and_then(Value::as_object_mut) {
        schema.insert(key.into(), value);
    }
}

/// Sets `key` of the property `property` of the schema `name`.
fn set_property(
    schemas: &mut Map<String, Value>,
    name: &str,
    property: &str,
    key: &str,
    value: Value,
) {
    if let Some(property) = schemas
        .get_mut(name)
        .and_then(|schema| schema.get_mut("properties"))
        .and_then(|properties| properties.get_mut(property))
    {
        property[key] = value;
    }
}

/// Makes the schemas of `doc` tell the truth under `access`.
pub(super) fn refine(doc: &mut Value, access: AccessRules) {
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        requests(schemas);
        answers(schemas, access);
    }
    mark_passwords(doc);
}

/// The request bodies: required fields, nullable names and examples.
fn requests(schemas: &mut Map<String, Value>) {
    for (name, required) in [
        ("CreateUserRequest", &["email", "password"][..]),
        ("LoginForm", &["email", "password"][..]),
        (
            "ChangePasswordRequest",
            &["current_password", "new_password"][..],
        ),
    ] {
        set(schemas, name, "required", json!(required));
    }
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
    // Names may be null in requests, as the Flask API took them: no name
    // on `POST /users`, "leave it as it is" on `PUT /users/<id>`.
    for schema in ["UpdateUserRequest", "CreateUserRequest"] {
        for name in ["first_name", "last_name"] {
            set_property(schemas, schema, name, "nullable", json!(true));
        }
    }
}

/// The answers: every key present (the optional ones as null), the
/// administrator flag only under `owner`, and examples.
fn answers(schemas: &mut Map<String, Value>, access: AccessRules) {
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
