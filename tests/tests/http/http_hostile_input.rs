//! What a hostile or careless client can send that some storage cannot
//! keep (a NUL, an email longer than any address, a very long name) is
//! refused with a 400 in the Flask API's message style before any storage
//! sees it, and nothing changes: on every storage, PostgreSQL included,
//! where such input used to be a 500.

use serde_json::{Value, json};

use integration_tests::http_harness::Service;
use integration_tests::http_tests;
use integration_tests::wire::error;

http_tests! {
    /// `POST /users` with a NUL or an overlong email or name is a 400 that
    /// says which field and why, and creates nobody.
    async fn new_users_with_fields_no_storage_can_keep_are_refused(backend: Backend) {
        let service = Service::start(backend, "none").await;
        let long_email = format!("{}@example.com", "a".repeat(250));
        let long_name = "n".repeat(1025);
        let cases = [
            (json!({"email": "a\u{0}b@example.com", "password": "pw"}),
                "Can't create User: email must not contain the NUL character"),
            (json!({"email": long_email, "password": "pw"}),
                "Can't create User: email must be at most 254 characters"),
            (json!({"email": "ok@example.com", "password": "pw", "first_name": "A\u{0}"}),
                "Can't create User: first_name must not contain the NUL character"),
            (json!({"email": "ok@example.com", "password": "pw", "last_name": long_name}),
                "Can't create User: last_name must be at most 1024 characters"),
        ];
        for (body, message) in cases {
            service.post("/api/v1/users").json(&body).send().await.assert(400, error(message));
        }
        service.get("/api/v1/stats").send().await.assert(200, json!({"users": 0}));
        // The limits themselves are accepted.
        let at_limit = format!("{}@example.com", "a".repeat(242));
        service
            .post("/api/v1/users")
            .json(&json!({"email": at_limit, "password": "pw", "first_name": "n".repeat(1024)}))
            .send()
            .await
            .assert_status(201);
    }

    /// Renaming with a NUL or an overlong name is a 400 and changes
    /// nothing; an unknown id is still 404 first, as the Flask API looked
    /// the user up before reading the body.
    async fn renames_no_storage_can_keep_are_refused(backend: Backend) {
        let service = Service::start(backend, "none").await;
        let alice = service.create_user("alice@example.com", "alice-pw").await;
        let path = format!("/api/v1/users/{}", alice.id);
        service
            .put(&path)
            .json(&json!({"first_name": "Al\u{0}ice"}))
            .send()
            .await
            .assert(400, error("Can't update User: first_name must not contain the NUL character"));
        service
            .put(&path)
            .json(&json!({"last_name": "x".repeat(1025)}))
            .send()
            .await
            .assert(400, error("Can't update User: last_name must be at most 1024 characters"));
        let user = service.get(&path).send().await.json();
        assert_eq!(user["first_name"], Value::Null);
        assert_eq!(user["last_name"], Value::Null);
        service
            .put("/api/v1/users/00000000-0000-4000-8000-000000000000")
            .json(&json!({"first_name": "\u{0}"}))
            .send()
            .await
            .assert(404, error("Not found"));
    }

    /// A login whose email no account can have names no one: 404, never a
    /// 500 from a storage that cannot even look it up.
    async fn logins_with_impossible_emails_name_no_one(backend: Backend) {
        let service = Service::start(backend, "session_db_auth").await;
        service.create_user("alice@example.com", "alice-pw").await;
        let long = format!("{}@example.com", "a".repeat(3000));
        for email in ["alice\u{0}@example.com", long.as_str()] {
            service
                .post("/api/v1/auth_session/login")
                .form(&[("email", email), ("password", "alice-pw")])
                .send()
                .await
                .assert(404, error("no user found for this email"));
        }
    }
}

http_tests! {
    /// A JSON body that is not an object (an array of the fields' values,
    /// which a lenient decoder would read as the object) is `Wrong format`
    /// and changes nothing.
    async fn json_bodies_that_are_not_objects_are_wrong_format(backend: Backend) {
        let service = Service::start(backend, "none").await;
        let alice = service.create_user("alice@example.com", "alice-pw").await;
        let path = format!("/api/v1/users/{}", alice.id);
        for body in ["[null, null]", "[\"Al\", \"Ice\"]", "\"Alice\"", "42"] {
            service
                .put(&path)
                .body("application/json", body)
                .send()
                .await
                .assert(400, error("Wrong format"));
            service
                .post("/api/v1/users")
                .body("application/json", body)
                .send()
                .await
                .assert(400, error("Wrong format"));
        }
        service
            .post("/api/v1/users")
            .body("application/json", "[\"bob@example.com\", \"pw\", null, null]")
            .send()
            .await
            .assert(400, error("Wrong format"));
        let user = service.get(&path).send().await.json();
        assert_eq!(user["first_name"], Value::Null);
        service.get("/api/v1/stats").send().await.assert(200, json!({"users": 1}));
    }
}
