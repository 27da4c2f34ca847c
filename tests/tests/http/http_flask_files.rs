//! The Flask API's data files, hand-written as it wrote them, served by the
//! file storage through the real router: its users keep logging in (and
//! their SHA-256 hashes become Argon2id), its sessions keep resolving (and
//! their raw tokens leave the disk), and what the service writes keeps the
//! same structure (`docs/contract.md#a7-files`, and Part B's hashing,
//! #b2-hashing, and token storage, #b3-tokens).

use serde_json::{Value, json};
use std::path::Path;
use tempfile::TempDir;

use domain::{Password, PasswordHash};
use integration_tests::http_harness::{Account, Backend, START, Service, temp_dir};
// The same form login as elsewhere, named here for what these tests do.
use integration_tests::wire::{ME, login_reply as login_as};

const BOB_ID: &str = "5a6c4f8e-2a0c-4b8e-9a53-0c1c8f5e3d21";
const ANN_ID: &str = "0b7e8d3c-1f2a-4c5d-8e9f-a0b1c2d3e4f5";
const BOB_PASSWORD: &str = "H0lberton School 98!";
const CREATED: &str = "2017-09-25T01:55:17";
const SESSION_RECORD_ID: &str = "c0ffee00-1234-4abc-8def-0123456789ab";
/// The Flask API's cookie value: `str(uuid.uuid4())`, stored as it is.
const RAW_TOKEN: &str = "9f4c1a2b-7d3e-4f5a-8b6c-1d2e3f4a5b6c";

const USER_FILE: &str = ".db_User.json";
const SESSION_FILE: &str = ".db_UserSession.json";

fn sha256_hex(password: &str) -> String {
    let password = Password::parse(password).unwrap_or_else(|| panic!("empty password"));
    PasswordHash::legacy_sha256_of(&password)
        .as_stored()
        .unwrap_or_default()
        .to_owned()
}

/// `.db_User.json` as Python's `json.dump` wrote it: two users, bob with a
/// `null` first name, ann with both names.
fn flask_users() -> String {
    format!(
        r#"{{"{BOB_ID}": {{"id": "{BOB_ID}", "created_at": "{CREATED}", "updated_at": "{CREATED}", "email": "bob@hbtn.io", "_password": "{bob}", "first_name": null, "last_name": "Dylan"}}, "{ANN_ID}": {{"id": "{ANN_ID}", "created_at": "2017-09-26T10:00:00", "updated_at": "2017-09-27T11:30:00", "email": "ann@hbtn.io", "_password": "{ann}", "first_name": "Ann", "last_name": "Lee"}}}}"#,
        bob = sha256_hex(BOB_PASSWORD),
        ann = sha256_hex("ann-pw"),
    )
}

/// `.db_UserSession.json` as the Flask API wrote it: the cookie value itself
/// in `session_id`.
fn flask_sessions(created_at: &str) -> String {
    format!(
        r#"{{"{SESSION_RECORD_ID}": {{"id": "{SESSION_RECORD_ID}", "created_at": "{created_at}", "updated_at": "{created_at}", "user_id": "{BOB_ID}", "session_id": "{RAW_TOKEN}"}}}}"#
    )
}

fn bob_json() -> Value {
    json!({
        "id": BOB_ID,
        "email": "bob@hbtn.io",
        "first_name": null,
        "last_name": "Dylan",
        "created_at": CREATED,
        "updated_at": CREATED,
    })
}

fn ann_json() -> Value {
    json!({
        "id": ANN_ID,
        "email": "ann@hbtn.io",
        "first_name": "Ann",
        "last_name": "Lee",
        "created_at": "2017-09-26T10:00:00",
        "updated_at": "2017-09-27T11:30:00",
    })
}

fn bob() -> Account {
    Account {
        id: BOB_ID.to_owned(),
        email: "bob@hbtn.io".to_owned(),
        password: BOB_PASSWORD.to_owned(),
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("cannot write {name}: {e}"));
}

/// A data directory holding the Flask users file (and sessions file).
fn flask_dir(sessions: Option<&str>) -> TempDir {
    let dir = temp_dir();
    write(dir.path(), USER_FILE, &flask_users());
    if let Some(sessions) = sessions {
        write(dir.path(), SESSION_FILE, sessions);
    }
    dir
}

async fn start(auth_type: &str, dir: TempDir) -> Service {
    Service::builder(Backend::File)
        .auth_type(auth_type)
        .data_dir(dir)
        .start()
        .await
}

fn read_json(service: &Service, name: &str) -> Value {
    serde_json::from_str(&service.read_file(name))
        .unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

/// The record of `id` in the users file.
fn user_record(service: &Service, id: &str) -> Value {
    read_json(service, USER_FILE)[id].clone()
}

/// Asserts bob's record kept every field but the hash, which is Argon2id.
#[track_caller]
fn assert_bob_upgraded(service: &Service) {
    let record = user_record(service, BOB_ID);
    let hash = record["_password"].as_str().unwrap_or("");
    assert!(hash.starts_with("$argon2id$"), "not upgraded: {record}");
    let keys: Vec<&str> = record
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "_password",
            "created_at",
            "email",
            "first_name",
            "id",
            "last_name",
            "updated_at"
        ],
        "{record}"
    );
    assert_eq!(record["id"], json!(BOB_ID));
    assert_eq!(record["email"], json!("bob@hbtn.io"));
    assert_eq!(record["first_name"], Value::Null);
    assert_eq!(record["last_name"], json!("Dylan"));
    assert_eq!(record["created_at"], json!(CREATED));
}

/// The service starts on the Flask files and shows their users as they
/// are, without touching the files.
#[tokio::test]
async fn flask_user_file_is_served_as_it_is() {
    let dir = flask_dir(None);
    let before = std::fs::read(dir.path().join(USER_FILE)).unwrap_or_default();
    let service = start("none", dir).await;
    service
        .get("/api/v1/users")
        .send()
        .await
        .assert(200, json!([bob_json(), ann_json()]));
    service
        .get(&format!("/api/v1/users/{BOB_ID}"))
        .send()
        .await
        .assert(200, bob_json());
    service
        .get("/api/v1/stats")
        .send()
        .await
        .assert(200, json!({"users": 2}));
    let after = std::fs::read(service.data_dir().join(USER_FILE)).unwrap_or_default();
    assert_eq!(before, after, "reading changed the users file");
}

/// A Flask user logs in with the login form under `session_db_auth`; the
/// SHA-256 hash is then replaced by Argon2id, and every other record stays.
#[tokio::test]
async fn flask_user_logs_in_by_form_and_the_legacy_hash_is_upgraded() {
    let service = start("session_db_auth", flask_dir(None)).await;
    let ann_before = user_record(&service, ANN_ID);
    let token = service.login(&bob()).await;
    service
        .get(ME)
        .cookie(&token)
        .send()
        .await
        .assert(200, bob_json());
    assert_bob_upgraded(&service);
    assert_eq!(
        user_record(&service, ANN_ID),
        ann_before,
        "another user changed"
    );

    // The Argon2id hash verifies the same password, after a restart too.
    let service = service.restart().await;
    let again = service.login(&bob()).await;
    service
        .get(ME)
        .cookie(&again)
        .send()
        .await
        .assert(200, bob_json());
    service
        .post("/api/v1/auth_session/login")
        .form(&[("email", "bob@hbtn.io"), ("password", "wrong")])
        .send()
        .await
        .assert(401, json!({"error": "wrong password"}));
    // The old session survived the restart as well.
    service
        .get(ME)
        .cookie(&token)
        .send()
        .await
        .assert(200, bob_json());
}

/// A Flask user authenticates with Basic under `basic_auth`; the hash is
/// upgraded the same way.
#[tokio::test]
async fn flask_user_logs_in_by_basic_auth_and_the_legacy_hash_is_upgraded() {
    let service = start("basic_auth", flask_dir(None)).await;
    service
        .get(ME)
        .basic("bob@hbtn.io", BOB_PASSWORD)
        .send()
        .await
        .assert(200, bob_json());
    assert_bob_upgraded(&service);
    service
        .get(ME)
        .basic("bob@hbtn.io", BOB_PASSWORD)
        .send()
        .await
        .assert(200, bob_json());
    service
        .get(ME)
        .basic("bob@hbtn.io", "wrong")
        .send()
        .await
        .assert(403, json!({"error": "Forbidden"}));
}

/// A failed login leaves the legacy hash (and the file) alone.
#[tokio::test]
async fn a_wrong_password_leaves_the_legacy_hash_alone() {
    let dir = flask_dir(None);
    let before = std::fs::read(dir.path().join(USER_FILE)).unwrap_or_default();
    let service = start("session_db_auth", dir).await;
    service
        .post("/api/v1/auth_session/login")
        .form(&[("email", "bob@hbtn.io"), ("password", "wrong")])
        .send()
        .await
        .assert(401, json!({"error": "wrong password"}));
    let after = std::fs::read(service.data_dir().join(USER_FILE)).unwrap_or_default();
    assert_eq!(before, after);
}

/// A session of the Flask sessions file, whose `session_id` is the raw
/// UUID cookie value, still resolves under `session_db_auth`.
#[tokio::test]
async fn flask_session_with_a_raw_uuid_token_still_resolves() {
    // Created half an hour before the clock's start: within the default
    // SESSION_DURATION of an hour.
    let service = start(
        "session_db_auth",
        flask_dir(Some(&flask_sessions("2024-05-01T11:30:00"))),
    )
    .await;
    service
        .get(ME)
        .cookie(RAW_TOKEN)
        .send()
        .await
        .assert(200, bob_json());

    // Part B: after the next write the raw token has left the disk, and the
    // cookie still resolves (by its digest), across a restart too.
    let ann = Account {
        id: ANN_ID.to_owned(),
        email: "ann@hbtn.io".to_owned(),
        password: "ann-pw".to_owned(),
    };
    service.login(&ann).await;
    for (path, bytes) in service.data_files() {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(RAW_TOKEN),
            "{} still holds the raw token",
            path.display()
        );
    }
    let sessions = read_json(&service, SESSION_FILE);
    assert_eq!(
        sessions[SESSION_RECORD_ID]["session_id"],
        json!(domain::SessionKey::digest_of(RAW_TOKEN).as_str()),
        "{sessions}"
    );
    assert_eq!(
        sessions[SESSION_RECORD_ID]["user_id"],
        json!(BOB_ID),
        "{sessions}"
    );
    let service = service.restart().await;
    service
        .get(ME)
        .cookie(RAW_TOKEN)
        .send()
        .await
        .assert(200, bob_json());
    service
        .delete("/api/v1/auth_session/logout")
        .cookie(RAW_TOKEN)
        .send()
        .await
        .assert(200, json!({}));
    service
        .get(ME)
        .cookie(RAW_TOKEN)
        .send()
        .await
        .assert(403, json!({"error": "Forbidden"}));
}

/// A Flask session older than `SESSION_DURATION` is expired.
#[tokio::test]
async fn an_old_flask_session_is_expired() {
    let service = start("session_db_auth", flask_dir(Some(&flask_sessions(CREATED)))).await;
    service
        .get(ME)
        .cookie(RAW_TOKEN)
        .send()
        .await
        .assert(403, json!({"error": "Forbidden"}));
}

/// Users the service creates are written in the Flask structure, with an
/// Argon2id hash, and load again after a restart.
#[tokio::test]
async fn created_users_are_written_in_the_flask_structure_with_argon2id() {
    let service = start("none", flask_dir(None)).await;
    let reply = service
        .post("/api/v1/users")
        .json(&json!({"email": "carol@example.com", "password": "carol-pw"}))
        .send()
        .await;
    reply.assert_status(201);
    let carol = reply.json();
    let id = carol["id"].as_str().unwrap_or_default().to_owned();
    let record = user_record(&service, &id);
    assert_eq!(
        record,
        json!({
            "id": id,
            "created_at": START,
            "updated_at": START,
            "email": "carol@example.com",
            "_password": record["_password"],
            "first_name": null,
            "last_name": null,
        })
    );
    let hash = record["_password"].as_str().unwrap_or("");
    assert!(hash.starts_with("$argon2id$"), "{record}");
    assert!(!service.read_file(USER_FILE).contains("carol-pw"));
    // The Flask users are still there, unchanged.
    let users = read_json(&service, USER_FILE);
    assert_eq!(users[BOB_ID]["_password"], json!(sha256_hex(BOB_PASSWORD)));
    assert_eq!(users.as_object().map(|o| o.len()), Some(3));

    let service = service.restart().await;
    service
        .get("/api/v1/users")
        .send()
        .await
        .assert(200, json!([bob_json(), ann_json(), carol]));
}

/// The Flask API stored `null` for a user created without a password: the
/// user is listed, and no password logs them in.
#[tokio::test]
async fn a_flask_user_without_a_password_cannot_log_in() {
    let dir = temp_dir();
    let users = format!(
        r#"{{"{BOB_ID}": {{"id": "{BOB_ID}", "created_at": "{CREATED}", "updated_at": "{CREATED}", "email": "bob@hbtn.io", "_password": null, "first_name": null, "last_name": "Dylan"}}}}"#
    );
    write(dir.path(), USER_FILE, &users);
    let service = start("session_db_auth", dir).await;
    for password in [BOB_PASSWORD, "null", "None"] {
        service
            .post("/api/v1/auth_session/login")
            .form(&[("email", "bob@hbtn.io"), ("password", password)])
            .send()
            .await
            .assert(401, json!({"error": "wrong password"}));
    }
    let service = Service::builder(Backend::File)
        .auth_type("basic_auth")
        .data_dir({
            let dir = temp_dir();
            write(dir.path(), USER_FILE, &users);
            dir
        })
        .start()
        .await;
    service
        .get(ME)
        .basic("bob@hbtn.io", BOB_PASSWORD)
        .send()
        .await
        .assert(403, json!({"error": "Forbidden"}));
    drop(service);
}

const DANA_ID: &str = "1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6";
const DANA_UPPER_ID: &str = "2e3f4a5b-6c7d-4e8f-9a01-b2c3d4e5f6a7";
const LEGACY_ID: &str = "3f4a5b6c-7d8e-4f9a-8b12-c3d4e5f6a7b8";

/// `.db_User.json` of a Flask deployment that, comparing emails exactly and
/// checking none, created `dana@hbtn.io` and `Dana@HBTN.io` as two
/// accounts, and one whose email is no address at all.
fn flask_users_differing_in_case() -> String {
    let record = |id: &str, email: &str, password: &str| {
        format!(
            r#""{id}": {{"id": "{id}", "created_at": "{CREATED}", "updated_at": "{CREATED}", "email": "{email}", "_password": "{hash}", "first_name": null, "last_name": null}}"#,
            hash = sha256_hex(password)
        )
    };
    format!(
        "{{{}, {}, {}}}",
        record(DANA_ID, "dana@hbtn.io", "lower-pw"),
        record(DANA_UPPER_ID, "Dana@HBTN.io", "upper-pw"),
        record(LEGACY_ID, "legacy-user", "legacy-pw"),
    )
}

/// The rule for emails that differ only in case (README, Security): an
/// exact match wins; else the single account equal ignoring case; else
/// none. Every old account keeps logging in with its email as stored, an
/// old email that is no address still logs in, and a new account cannot
/// join the pair.
#[tokio::test]
async fn flask_users_whose_emails_differ_only_in_case_each_log_in_with_their_own() {
    let dir = temp_dir();
    write(dir.path(), USER_FILE, &flask_users_differing_in_case());
    let service = start("session_db_auth", dir).await;

    let (status, lower) = login_as(&service, "dana@hbtn.io", "lower-pw").await;
    assert_eq!((status, lower["id"].clone()), (200, json!(DANA_ID)));
    let (status, upper) = login_as(&service, "Dana@HBTN.io", "upper-pw").await;
    assert_eq!((status, upper["id"].clone()), (200, json!(DANA_UPPER_ID)));
    // Each exact email checks its own password, not the other's.
    assert_eq!(
        login_as(&service, "dana@hbtn.io", "upper-pw").await,
        (401, json!({"error": "wrong password"}))
    );
    // Two accounts match ignoring case, neither exactly: no one.
    assert_eq!(
        login_as(&service, "DANA@HBTN.IO", "lower-pw").await,
        (404, json!({"error": "no user found for this email"}))
    );
    let (status, legacy) = login_as(&service, "LEGACY-USER", "legacy-pw").await;
    assert_eq!((status, legacy["id"].clone()), (200, json!(LEGACY_ID)));

    service
        .post("/api/v1/users")
        .json(&json!({"email": "DANA@hbtn.io", "password": "pw"}))
        .with(&integration_tests::http_harness::Credential::Cookie(
            service
                .login(&Account {
                    id: DANA_ID.to_owned(),
                    email: "dana@hbtn.io".to_owned(),
                    password: "lower-pw".to_owned(),
                })
                .await,
        ))
        .send()
        .await
        .assert(
            400,
            json!({"error": "Can't create User: email already exists"}),
        );

    // Once one of the pair is gone, the other is the single match.
    let token = service
        .login(&Account {
            id: DANA_UPPER_ID.to_owned(),
            email: "Dana@HBTN.io".to_owned(),
            password: "upper-pw".to_owned(),
        })
        .await;
    service
        .delete(&format!("/api/v1/users/{DANA_UPPER_ID}"))
        .cookie(&token)
        .send()
        .await
        .assert(200, json!({}));
    let (status, found) = login_as(&service, "DANA@HBTN.IO", "lower-pw").await;
    assert_eq!((status, found["id"].clone()), (200, json!(DANA_ID)));

    // The rule holds after a restart (the file is read anew).
    let service = service.restart().await;
    let (status, found) = login_as(&service, "DANA@HBTN.IO", "lower-pw").await;
    assert_eq!((status, found["id"].clone()), (200, json!(DANA_ID)));
}
