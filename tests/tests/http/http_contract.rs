//! The compatible API (`docs/contract.md`, Part A): the gate and every
//! route of the routes table, through the real router, under every
//! `AUTH_TYPE`, for the memory and the file storage. Bodies are compared as
//! parsed JSON.
//!
//! Logins, logouts and session lifetimes are in `http_sessions.rs`; this
//! project's additions (Part B) in `http_additions.rs`; the Flask files in
//! `http_flask_files.rs`.

use poem::http::Method;
use serde_json::{Value, json};

use integration_tests::http_harness::{
    AUTH_TYPES, Account, Backend, Credential, GUARDED, REACHABLE, Reply, SESSION_TYPES, START,
    Service, assert_user_shape, basic, basic_raw, user_json,
};
use integration_tests::http_tests;
use integration_tests::wire::{assert_cors, forbidden, not_found, unauthorized, wrong_format};

/// Every route is slash tolerant.
const SLASHES: [&str; 2] = ["", "/"];

/// A service under `auth_type` with one user, alice, and what lets her in.
async fn with_alice(backend: Backend, auth_type: &str) -> (Service, Account, Credential) {
    let service = Service::start(backend, auth_type).await;
    let alice = service.create_user("alice@example.com", "alice-pw").await;
    let credential = service.credential_for(&alice).await;
    (service, alice, credential)
}

/// Every request the gate must guard: each route of the table that is not
/// excluded, and paths no route serves (the gate runs before routing).
fn guarded_requests(user_id: &str) -> Vec<(Method, String)> {
    let base = [
        (Method::GET, "/api/v1/stats".to_owned()),
        (Method::GET, "/api/v1/users".to_owned()),
        (Method::POST, "/api/v1/users".to_owned()),
        (Method::GET, "/api/v1/users/me".to_owned()),
        (Method::GET, format!("/api/v1/users/{user_id}")),
        (Method::PUT, format!("/api/v1/users/{user_id}")),
        (Method::DELETE, format!("/api/v1/users/{user_id}")),
        (Method::DELETE, "/api/v1/auth_session/logout".to_owned()),
        (Method::GET, "/api/v1/nope".to_owned()),
        (Method::GET, "/api/v1/users/a/b".to_owned()),
        (Method::GET, "/api/v1".to_owned()),
        (Method::GET, "/nope".to_owned()),
    ];
    let mut all: Vec<(Method, String)> = base
        .iter()
        .flat_map(|(m, p)| SLASHES.map(|s| (m.clone(), format!("{p}{s}"))))
        .collect();
    all.push((Method::GET, "/".to_owned()));
    all
}

/// Sends `method path` with a JSON body of a would-be user (so a POST that
/// slipped past the gate would create one) and `credential`.
async fn send_guarded(
    service: &Service,
    method: Method,
    path: &str,
    credential: &Credential,
) -> Reply {
    service
        .request(method, path)
        .with(credential)
        .json(&json!({"email": "mallory@example.com", "password": "x", "first_name": "M"}))
        .send()
        .await
}

async fn user_count(service: &Service) -> u64 {
    service
        .storage()
        .users
        .count()
        .await
        .unwrap_or_else(|e| panic!("count: {e}"))
}

http_tests! {
    // ---------------------------------------------------------------- index

    /// `GET /status` → `200 {"status": "OK"}`, excluded from the gate.
    async fn status_is_ok_without_credentials_under_every_auth_type(backend: Backend) {
        for name in AUTH_TYPES {
            let service = Service::start(backend, name).await;
            for s in SLASHES {
                let reply = service.get(&format!("/api/v1/status{s}")).send().await;
                reply.assert(200, json!({"status": "OK"}));
                assert_cors(&reply);
            }
        }
    }

    /// `GET /unauthorized` → `401 {"error": "Unauthorized"}`, excluded.
    async fn unauthorized_route_is_401_under_every_auth_type(backend: Backend) {
        for name in AUTH_TYPES {
            let service = Service::start(backend, name).await;
            for s in SLASHES {
                let path = format!("/api/v1/unauthorized{s}");
                let reply = service.get(&path).send().await;
                reply.assert(401, unauthorized());
                assert_cors(&reply);
                service.get(&path).cookie("whatever").send().await.assert(401, unauthorized());
            }
        }
    }

    /// `GET /forbidden` → `403 {"error": "Forbidden"}`, excluded.
    async fn forbidden_route_is_403_under_every_auth_type(backend: Backend) {
        for name in AUTH_TYPES {
            let service = Service::start(backend, name).await;
            for s in SLASHES {
                let path = format!("/api/v1/forbidden{s}");
                let reply = service.get(&path).send().await;
                reply.assert(403, forbidden());
                assert_cors(&reply);
                service.get(&path).basic("a@b", "c").send().await.assert(403, forbidden());
            }
        }
    }

    /// `GET /stats` → `200 {"users": <count>}`.
    async fn stats_counts_the_users(backend: Backend) {
        for name in REACHABLE {
            let (service, _alice, me) = with_alice(backend, name).await;
            for s in SLASHES {
                let stats = format!("/api/v1/stats{s}");
                service.get(&stats).with(&me).send().await.assert(200, json!({"users": 1}));
                let bob = service
                    .post("/api/v1/users")
                    .with(&me)
                    .json(&json!({"email": "bob@example.com", "password": "pw"}))
                    .send()
                    .await;
                bob.assert_status(201);
                let bob_id = bob.json()["id"].as_str().unwrap_or_default().to_owned();
                service.get(&stats).with(&me).send().await.assert(200, json!({"users": 2}));
                service
                    .delete(&format!("/api/v1/users/{bob_id}"))
                    .with(&me)
                    .send()
                    .await
                    .assert(200, json!({}));
                service.get(&stats).with(&me).send().await.assert(200, json!({"users": 1}));
            }
        }
    }

    // ----------------------------------------------------------------- gate

    /// Step 1: neither an `Authorization` header nor the cookie → 401, on
    /// every guarded route and on paths no route serves; nothing runs.
    async fn requests_without_credentials_are_401_under_every_guarded_auth_type(backend: Backend) {
        for name in GUARDED {
            let service = Service::start(backend, name).await;
            let alice = service.create_user("alice@example.com", "alice-pw").await;
            for (method, path) in guarded_requests(&alice.id) {
                let reply = send_guarded(&service, method, &path, &Credential::Nothing).await;
                reply.assert(401, unauthorized());
                if path.starts_with("/api/v1") {
                    assert_cors(&reply);
                }
            }
            assert_eq!(user_count(&service).await, 1, "{name}: a request got past the gate");
        }
    }

    /// Step 2: a cookie that names no session → 403, under every policy
    /// (under `auth` and `basic_auth` a cookie identifies no one either).
    async fn unknown_session_cookie_is_403_under_every_guarded_auth_type(backend: Backend) {
        for name in GUARDED {
            let service = Service::start(backend, name).await;
            let alice = service.create_user("alice@example.com", "alice-pw").await;
            let cookie = Credential::Cookie("no-such-session".to_owned());
            for (method, path) in guarded_requests(&alice.id) {
                send_guarded(&service, method, &path, &cookie).await.assert(403, forbidden());
            }
            assert_eq!(user_count(&service).await, 1, "{name}: a request got past the gate");
        }
    }

    /// Only the cookie named `SESSION_NAME` counts as the session cookie.
    async fn a_cookie_with_another_name_is_no_credential(backend: Backend) {
        for name in GUARDED {
            let service = Service::start(backend, name).await;
            service
                .get("/api/v1/users")
                .header("Cookie", "session_id=abc; other=def")
                .send()
                .await
                .assert(401, unauthorized());
        }
    }

    /// Under the session policies only the cookie identifies the user: an
    /// `Authorization` header alone (even valid Basic) passes step 1 and
    /// fails step 2.
    async fn authorization_header_alone_is_403_under_session_auth_types(backend: Backend) {
        for name in SESSION_TYPES {
            let service = Service::start(backend, name).await;
            let alice = service.create_user("alice@example.com", "alice-pw").await;
            let headers = [
                basic(&alice.email, &alice.password),
                "Bearer abc".to_owned(),
                String::new(),
            ];
            for header in &headers {
                let credential = Credential::Basic(header.clone());
                for (method, path) in guarded_requests(&alice.id) {
                    send_guarded(&service, method, &path, &credential).await.assert(403, forbidden());
                }
            }
        }
    }

    /// Each policy reads only its own credential: a stray cookie does not
    /// spoil valid Basic credentials, nor a stray `Authorization` header a
    /// valid session cookie.
    async fn each_policy_ignores_the_other_kind_of_credential(backend: Backend) {
        let service = Service::start(backend, "basic_auth").await;
        let alice = service.create_user("alice@example.com", "alice-pw").await;
        service
            .get("/api/v1/users/me")
            .basic(&alice.email, &alice.password)
            .cookie("junk")
            .send()
            .await
            .assert(200, user_json(&alice, START));
        for name in SESSION_TYPES {
            let (service, alice, me) = with_alice(backend, name).await;
            service
                .get("/api/v1/users/me")
                .with(&me)
                .authorization("Basic garbage")
                .send()
                .await
                .assert(200, user_json(&alice, START));
        }
    }

    /// A session cookie with an empty value is still a cookie: 403, not 401.
    async fn an_empty_session_cookie_is_403(backend: Backend) {
        for name in SESSION_TYPES {
            let service = Service::start(backend, name).await;
            service
                .get("/api/v1/users")
                .header("Cookie", "_my_session_id=")
                .send()
                .await
                .assert(403, forbidden());
        }
    }

    /// Under `basic_auth` a cookie alone identifies no one.
    async fn cookie_alone_is_403_under_basic_auth(backend: Backend) {
        let service = Service::start(backend, "basic_auth").await;
        let alice = service.create_user("alice@example.com", "alice-pw").await;
        for token in ["abc", "2f0f3a4e-3b0c-4a4a-9d6c-2f1b7c9e0a11", &alice.id] {
            service.get("/api/v1/users/me").cookie(token).send().await.assert(403, forbidden());
        }
    }

    /// `auth`, the base policy, resolves no one: any credential → 403.
    async fn auth_type_auth_forbids_every_credential(backend: Backend) {
        let service = Service::start(backend, "auth").await;
        let alice = service.create_user("alice@example.com", "alice-pw").await;
        let valid_basic = Credential::Basic(basic(&alice.email, &alice.password));
        let cookie = Credential::Cookie("abc".to_owned());
        for credential in [&valid_basic, &cookie] {
            for (method, path) in guarded_requests(&alice.id) {
                send_guarded(&service, method, &path, credential).await.assert(403, forbidden());
            }
        }
        service
            .get("/api/v1/users")
            .basic(&alice.email, &alice.password)
            .cookie("abc")
            .send()
            .await
            .assert(403, forbidden());
        assert_eq!(user_count(&service).await, 1);
    }

    /// The excluded paths never need authentication, under any policy, with
    /// or without the trailing slash.
    async fn excluded_paths_need_no_credentials_under_every_auth_type(backend: Backend) {
        for name in AUTH_TYPES {
            let service = Service::start(backend, name).await;
            for s in SLASHES {
                service.get(&format!("/api/v1/status{s}")).send().await.assert(200, json!({"status": "OK"}));
                service.get(&format!("/api/v1/unauthorized{s}")).send().await.assert(401, unauthorized());
                service.get(&format!("/api/v1/forbidden{s}")).send().await.assert(403, forbidden());
                let login = service
                    .post(&format!("/api/v1/auth_session/login{s}"))
                    .form(&[("password", "x")])
                    .send()
                    .await;
                assert_cors(&login);
                if SESSION_TYPES.contains(&name) {
                    login.assert(400, json!({"error": "email missing"}));
                } else {
                    // What login does without sessions is not in the
                    // contract; the gate must not have answered it.
                    let body = login.json();
                    assert!(
                        body != unauthorized() && body != forbidden(),
                        "{name}: the gate answered {}: {body}",
                        login.request
                    );
                }
            }
        }
    }

    /// Exclusion is by whole path (slash tolerant), not by prefix.
    async fn paths_that_only_start_like_an_excluded_path_are_guarded(backend: Backend) {
        for name in GUARDED {
            let service = Service::start(backend, name).await;
            for path in [
                "/api/v1/statusx",
                "/api/v1/status/x",
                "/api/v1/forbidden/x",
                "/api/v1/auth_session/login/x",
                "/api/v1/auth_session",
            ] {
                service.get(path).send().await.assert(401, unauthorized());
            }
        }
    }

    /// The query string plays no part in exclusion or routing, and an
    /// excluded path ignores whatever credentials come with it.
    async fn query_strings_and_stray_credentials_change_nothing_on_excluded_paths(backend: Backend) {
        for name in GUARDED {
            let service = Service::start(backend, name).await;
            for path in ["/api/v1/status?x=1", "/api/v1/status/?x=1&y"] {
                service.get(path).send().await.assert(200, json!({"status": "OK"}));
            }
            service.get("/api/v1/status").cookie("junk").send().await.assert(200, json!({"status": "OK"}));
            service.get("/api/v1/status").basic("no@one", "pw").send().await.assert(200, json!({"status": "OK"}));
            service.get("/api/v1/users?x=1").send().await.assert(401, unauthorized());
        }
    }

    /// `AUTH_TYPE=none`: every route is open; there is no current user.
    async fn auth_type_none_opens_every_route(backend: Backend) {
        let service = Service::start(backend, "none").await;
        service.get("/api/v1/users").send().await.assert(200, json!([]));
        service.get("/api/v1/stats").send().await.assert(200, json!({"users": 0}));
        let created = service
            .post("/api/v1/users")
            .json(&json!({"email": "bob@example.com", "password": "pw"}))
            .send()
            .await;
        created.assert_status(201);
        let id = created.json()["id"].as_str().unwrap_or_default().to_owned();
        service.get(&format!("/api/v1/users/{id}")).send().await.assert(200, created.json());
        service.get("/api/v1/users/me").send().await.assert(404, not_found());
        service.get("/api/v1/users/me/").send().await.assert(404, not_found());
        // Credentials change nothing.
        service
            .get("/api/v1/users/me")
            .basic("bob@example.com", "pw")
            .send()
            .await
            .assert(404, not_found());
        service.get("/api/v1/users").cookie("junk").send().await.assert(200, json!([created.json()]));
        service.get("/api/v1/nope").send().await.assert(404, not_found());
        service.get("/nope").send().await.assert(404, not_found());
        // No session to destroy.
        service.delete("/api/v1/auth_session/logout").send().await.assert(404, not_found());
        service.delete(&format!("/api/v1/users/{id}")).send().await.assert(200, json!({}));
    }

    /// With valid credentials, a path no route serves → `404 {"error": "Not found"}`.
    async fn unknown_paths_are_404_with_valid_credentials(backend: Backend) {
        for name in REACHABLE {
            let (service, _alice, me) = with_alice(backend, name).await;
            for path in [
                "/api/v1/nope",
                "/api/v1/nope/",
                "/api/v1/users/a/b",
                "/api/v1",
                "/api/v2/users",
                "/nope",
                "/",
            ] {
                let reply = service.get(path).with(&me).send().await;
                reply.assert(404, not_found());
                if path.starts_with("/api/v1") {
                    assert_cors(&reply);
                }
            }
            service.post("/api/v1/nope").with(&me).send().await.assert(404, not_found());
        }
    }

    // ---------------------------------------------------------------- basic

    /// A valid `Authorization: Basic base64(email:password)` → the user.
    async fn basic_auth_with_valid_credentials_is_200(backend: Backend) {
        let service = Service::start(backend, "basic_auth").await;
        let alice = service.create_user("alice@example.com", "alice-pw").await;
        service
            .get("/api/v1/users/me")
            .basic(&alice.email, &alice.password)
            .send()
            .await
            .assert(200, user_json(&alice, START));
    }

    /// A wrong (or empty) password identifies no one.
    async fn basic_auth_with_a_wrong_password_is_403(backend: Backend) {
        let service = Service::start(backend, "basic_auth").await;
        let alice = service.create_user("alice@example.com", "alice-pw").await;
        for password in ["wrong", "alice-pW", "alice-pw ", ""] {
            service
                .get("/api/v1/users/me")
                .basic(&alice.email, password)
                .send()
                .await
                .assert(403, forbidden());
        }
    }

    /// An email no user has identifies no one; emails ignore the case of
    /// ASCII letters (issue 12: `Alice@example.com` is alice).
    async fn basic_auth_with_an_unknown_email_is_403(backend: Backend) {
        let service = Service::start(backend, "basic_auth").await;
        let alice = service.create_user("alice@example.com", "alice-pw").await;
        for email in ["bob@example.com", "alice@example.org", ""] {
            service
                .get("/api/v1/users/me")
                .basic(email, &alice.password)
                .send()
                .await
                .assert(403, forbidden());
        }
        service
            .get("/api/v1/users/me")
            .basic("Alice@example.com", &alice.password)
            .send()
            .await
            .assert_status(200);
    }

    /// The header must start with `Basic ` (with the space).
    async fn basic_auth_without_the_basic_prefix_is_403(backend: Backend) {
        let service = Service::start(backend, "basic_auth").await;
        let alice = service.create_user("alice@example.com", "alice-pw").await;
        let encoded = basic(&alice.email, &alice.password)
            .trim_start_matches("Basic ")
            .to_owned();
        for header in [
            encoded.clone(),
            format!("Basic{encoded}"),
            format!("basic {encoded}"),
            format!("Bearer {encoded}"),
            "Basic".to_owned(),
        ] {
            service
                .get("/api/v1/users/me")
                .authorization(&header)
                .send()
                .await
                .assert(403, forbidden());
        }
    }

    /// The value must be valid base64 of UTF-8.
    async fn basic_auth_with_bad_base64_is_403(backend: Backend) {
        use base64::Engine as _;
        let service = Service::start(backend, "basic_auth").await;
        service.create_user("alice@example.com", "alice-pw").await;
        let not_utf8 = base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe, b':', b'x']);
        for header in [
            "Basic !!!not base64!!!".to_owned(),
            "Basic YWxpY2VAZXhhbXBsZS5jb206YWxpY2UtcHc".to_owned(),
            "Basic ".to_owned(),
            format!("Basic {not_utf8}"),
        ] {
            service
                .get("/api/v1/users/me")
                .authorization(&header)
                .send()
                .await
                .assert(403, forbidden());
        }
    }

    /// Credentials without a `:` identify no one.
    async fn basic_auth_without_a_colon_is_403(backend: Backend) {
        let service = Service::start(backend, "basic_auth").await;
        service.create_user("alice@example.com", "alice-pw").await;
        for text in ["alice@example.comalice-pw", "alice@example.com", ""] {
            service
                .get("/api/v1/users/me")
                .authorization(&basic_raw(text))
                .send()
                .await
                .assert(403, forbidden());
        }
    }

    /// Credentials split on the first `:`; the password may contain `:`.
    async fn basic_auth_password_may_contain_colons(backend: Backend) {
        let service = Service::start(backend, "basic_auth").await;
        let carol = service.create_user("carol@example.com", "pa:ss:word").await;
        service
            .get("/api/v1/users/me")
            .basic(&carol.email, &carol.password)
            .send()
            .await
            .assert(200, user_json(&carol, START));
        service
            .get("/api/v1/users/me")
            .basic(&carol.email, "pa")
            .send()
            .await
            .assert(403, forbidden());
    }

    // ---------------------------------------------------------------- users

    /// `GET /users` → every user, each exactly the public keys, names
    /// `null` when unset, no password or hash anywhere.
    async fn user_list_shows_every_user_with_exactly_the_public_keys(backend: Backend) {
        let (service, alice, me) = with_alice(backend, "session_db_auth").await;
        let bob = service
            .post("/api/v1/users")
            .with(&me)
            .json(&json!({"email": "bob@example.com", "password": "bob-pw", "first_name": "Bob"}))
            .send()
            .await;
        bob.assert_status(201);
        let reply = service.get("/api/v1/users").with(&me).send().await;
        reply.assert_status(200);
        let list = reply.json();
        let users = list.as_array().unwrap_or_else(|| panic!("not a list: {list}"));
        assert_eq!(users.len(), 2, "{list}");
        for user in users {
            assert_user_shape(user);
        }
        assert!(users.contains(&user_json(&alice, START)), "{list}");
        assert!(users.contains(&bob.json()), "{list}");
        let text = reply.text().to_ascii_lowercase();
        for secret in ["password", "argon2", "alice-pw", "bob-pw", "hash"] {
            assert!(!text.contains(secret), "{secret:?} in {text}");
        }
    }

    /// `GET /users/<id>` → the user.
    async fn get_user_by_id_returns_the_user(backend: Backend) {
        let (service, alice, me) = with_alice(backend, "session_db_auth").await;
        for s in SLASHES {
            let reply = service.get(&format!("/api/v1/users/{}{s}", alice.id)).with(&me).send().await;
            reply.assert(200, user_json(&alice, START));
            assert_user_shape(&reply.json());
        }
    }

    /// An unknown id → `404 {"error": "Not found"}`.
    async fn get_user_with_an_unknown_id_is_404(backend: Backend) {
        let (service, _alice, me) = with_alice(backend, "session_db_auth").await;
        for id in ["2f0f3a4e-3b0c-4a4a-9d6c-2f1b7c9e0a11", "abc", "ME", "12345"] {
            service
                .get(&format!("/api/v1/users/{id}"))
                .with(&me)
                .send()
                .await
                .assert(404, not_found());
        }
    }

    /// `GET /users/me` → the current user, whoever the policy resolved.
    async fn users_me_returns_the_current_user(backend: Backend) {
        for name in ["basic_auth", "session_auth", "session_exp_auth", "session_db_auth"] {
            let service = Service::start(backend, name).await;
            let alice = service.create_user("alice@example.com", "alice-pw").await;
            let bob = service.create_user("bob@example.com", "bob-pw").await;
            for account in [&alice, &bob] {
                let credential = service.credential_for(account).await;
                for s in SLASHES {
                    service
                        .get(&format!("/api/v1/users/me{s}"))
                        .with(&credential)
                        .send()
                        .await
                        .assert(200, user_json(account, START));
                }
            }
        }
    }

    /// `POST /users` → `201 <user>`, which can then log in.
    async fn create_user_returns_201_and_the_user(backend: Backend) {
        let (service, _alice, me) = with_alice(backend, "session_db_auth").await;
        let reply = service
            .post("/api/v1/users")
            .with(&me)
            .json(&json!({
                "email": "bob@example.com",
                "password": "bob-pw",
                "first_name": "Bob",
                "last_name": "Dylan",
            }))
            .send()
            .await;
        reply.assert_status(201);
        let user = reply.json();
        assert_user_shape(&user);
        let id = user["id"].as_str().unwrap_or_default().to_owned();
        let uuid = uuid::Uuid::try_parse(&id).unwrap_or_else(|e| panic!("id {id:?}: {e}"));
        assert_eq!(uuid.get_version_num(), 4, "ids are UUID v4: {id}");
        assert_eq!(
            user,
            json!({
                "id": id,
                "email": "bob@example.com",
                "first_name": "Bob",
                "last_name": "Dylan",
                "created_at": START,
                "updated_at": START,
            })
        );
        service.get(&format!("/api/v1/users/{id}")).with(&me).send().await.assert(200, user.clone());
        let bob = Account { id, email: "bob@example.com".into(), password: "bob-pw".into() };
        let cookie = service.login(&bob).await;
        service.get("/api/v1/users/me").cookie(&cookie).send().await.assert(200, user);
    }

    /// A body that is not a JSON object → `400 {"error": "Wrong format"}`,
    /// whatever else it holds.
    async fn create_user_with_a_body_that_is_not_json_is_400_wrong_format(backend: Backend) {
        let (service, _alice, me) = with_alice(backend, "session_db_auth").await;
        let valid = r#"{"email": "bob@example.com", "password": "pw"}"#;
        let bodies = [
            ("application/json", "not json"),
            ("application/json", r#"{"email": "bob@example.com", "password": "#),
            ("application/json", ""),
            ("application/json", "null"),
            ("application/json", "[]"),
            ("application/json", r#"[{"email": "bob@example.com", "password": "pw"}]"#),
            ("text/plain", valid),
            ("application/x-www-form-urlencoded", "email=bob%40example.com&password=pw"),
            ("", valid),
        ];
        for (content_type, body) in bodies {
            let reply = service
                .post("/api/v1/users")
                .with(&me)
                .body(content_type, body)
                .send()
                .await;
            reply.assert(400, wrong_format());
            assert_cors(&reply);
        }
        assert_eq!(user_count(&service).await, 1);
    }

    /// Email missing or empty → `400 {"error": "email missing"}` (checked
    /// before the password).
    async fn create_user_without_email_is_400_email_missing(backend: Backend) {
        let (service, _alice, me) = with_alice(backend, "session_db_auth").await;
        for body in [
            json!({"password": "pw"}),
            json!({"email": "", "password": "pw"}),
            json!({}),
            json!({"email": ""}),
            json!({"first_name": "Bob", "last_name": "Dylan"}),
        ] {
            service
                .post("/api/v1/users")
                .with(&me)
                .json(&body)
                .send()
                .await
                .assert(400, json!({"error": "email missing"}));
        }
        assert_eq!(user_count(&service).await, 1);
    }

    /// Password missing or empty → `400 {"error": "password missing"}`.
    async fn create_user_without_password_is_400_password_missing(backend: Backend) {
        let (service, _alice, me) = with_alice(backend, "session_db_auth").await;
        for body in [
            json!({"email": "bob@example.com"}),
            json!({"email": "bob@example.com", "password": ""}),
        ] {
            service
                .post("/api/v1/users")
                .with(&me)
                .json(&body)
                .send()
                .await
                .assert(400, json!({"error": "password missing"}));
        }
        assert_eq!(user_count(&service).await, 1);
    }

    /// JSON is recognised by its media type, parameters and `+json`
    /// suffixes included (as Flask's `get_json` did).
    async fn create_user_accepts_json_media_types_with_parameters(backend: Backend) {
        let (service, _alice, me) = with_alice(backend, "session_db_auth").await;
        for (i, content_type) in [
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/vnd.api+json",
        ]
        .into_iter()
        .enumerate()
        {
            let body = json!({"email": format!("user{i}@example.com"), "password": "pw"});
            let reply = service
                .post("/api/v1/users")
                .with(&me)
                .body(content_type, body.to_string())
                .send()
                .await;
            reply.assert_status(201);
            assert_eq!(reply.json()["email"], body["email"], "{content_type}");
        }
    }

    /// An email that exists → `400 {"error": "Can't create User: email already exists"}`.
    async fn create_user_with_an_existing_email_is_400(backend: Backend) {
        let (service, alice, me) = with_alice(backend, "session_db_auth").await;
        service
            .post("/api/v1/users")
            .with(&me)
            .json(&json!({"email": alice.email, "password": "other"}))
            .send()
            .await
            .assert(400, json!({"error": "Can't create User: email already exists"}));
        assert_eq!(user_count(&service).await, 1);
        // The first account is untouched: its password still works.
        service.login(&alice).await;
    }

    /// `PUT /users/<id>` applies `first_name` and `last_name` only; every
    /// other field of the body is ignored.
    async fn update_user_applies_only_the_names(backend: Backend) {
        let (service, alice, me) = with_alice(backend, "session_db_auth").await;
        let bob = service.create_user("bob@example.com", "bob-pw").await;
        for s in SLASHES {
            let reply = service
                .put(&format!("/api/v1/users/{}{s}", bob.id))
                .with(&me)
                .json(&json!({
                    "first_name": format!("Robert{s}"),
                    "last_name": "Zimmerman",
                    "email": "evil@example.com",
                    "password": "new-pw",
                    "id": alice.id,
                    "created_at": "1999-01-01T00:00:00",
                }))
                .send()
                .await;
            reply.assert_status(200);
            let user = reply.json();
            assert_user_shape(&user);
            assert_eq!(user["id"], json!(bob.id));
            assert_eq!(user["email"], json!(bob.email));
            assert_eq!(user["first_name"], json!(format!("Robert{s}")));
            assert_eq!(user["last_name"], json!("Zimmerman"));
            assert_eq!(user["created_at"], json!(START));
            service.get(&format!("/api/v1/users/{}", bob.id)).with(&me).send().await.assert(200, user);
        }
        // As the Flask API's save(), an update moves updated_at.
        service.clock.advance(30);
        let reply = service
            .put(&format!("/api/v1/users/{}", bob.id))
            .with(&me)
            .json(&json!({"first_name": "Bobby"}))
            .send()
            .await;
        reply.assert_status(200);
        assert_eq!(reply.json()["created_at"], json!(START));
        assert_eq!(reply.json()["updated_at"], json!("2024-05-01T12:00:30"));
        // The password did not change.
        service.login(&bob).await;
        service
            .post("/api/v1/auth_session/login")
            .form(&[("email", "bob@example.com"), ("password", "new-pw")])
            .send()
            .await
            .assert(401, json!({"error": "wrong password"}));
        // And alice is still alice.
        service
            .get(&format!("/api/v1/users/{}", alice.id))
            .with(&me)
            .send()
            .await
            .assert(200, user_json(&alice, START));
    }

    /// A name that is absent or `null` is left as it is.
    async fn update_user_with_null_or_absent_names_keeps_them(backend: Backend) {
        let (service, _alice, me) = with_alice(backend, "session_db_auth").await;
        let bob = service.create_user("bob@example.com", "bob-pw").await;
        let path = format!("/api/v1/users/{}", bob.id);
        service
            .put(&path)
            .with(&me)
            .json(&json!({"first_name": "Bob", "last_name": "Dylan"}))
            .send()
            .await
            .assert_status(200);
        for body in [
            json!({"first_name": null, "last_name": null}),
            json!({}),
            json!({"email": "x@example.com"}),
        ] {
            let reply = service.put(&path).with(&me).json(&body).send().await;
            reply.assert_status(200);
            let user = reply.json();
            assert_eq!(user["first_name"], json!("Bob"), "{body}");
            assert_eq!(user["last_name"], json!("Dylan"), "{body}");
            assert_eq!(user["email"], json!("bob@example.com"), "{body}");
        }
        let reply = service
            .put(&path)
            .with(&me)
            .json(&json!({"last_name": "Marley", "first_name": null}))
            .send()
            .await;
        reply.assert_status(200);
        assert_eq!(reply.json()["first_name"], json!("Bob"));
        assert_eq!(reply.json()["last_name"], json!("Marley"));
    }

    /// An unknown id → 404, even when the body is not JSON (the user is
    /// looked up first).
    async fn update_unknown_user_is_404_even_with_a_bad_body(backend: Backend) {
        let (service, _alice, me) = with_alice(backend, "session_db_auth").await;
        for id in ["2f0f3a4e-3b0c-4a4a-9d6c-2f1b7c9e0a11", "abc", "me"] {
            let path = format!("/api/v1/users/{id}");
            service
                .put(&path)
                .with(&me)
                .json(&json!({"first_name": "X"}))
                .send()
                .await
                .assert(404, not_found());
            service
                .put(&path)
                .with(&me)
                .body("text/plain", "not json")
                .send()
                .await
                .assert(404, not_found());
        }
    }

    /// A known id with a body that is not JSON → `400 {"error": "Wrong format"}`, nothing changes.
    async fn update_user_with_a_bad_body_is_400_wrong_format(backend: Backend) {
        let (service, alice, me) = with_alice(backend, "session_db_auth").await;
        let path = format!("/api/v1/users/{}", alice.id);
        for (content_type, body) in [
            ("application/json", "not json"),
            ("application/json", ""),
            ("application/json", "null"),
            ("text/plain", r#"{"first_name": "X"}"#),
            ("application/x-www-form-urlencoded", "first_name=X"),
            ("", r#"{"first_name": "X"}"#),
        ] {
            service
                .put(&path)
                .with(&me)
                .body(content_type, body)
                .send()
                .await
                .assert(400, wrong_format());
        }
        service.get(&path).with(&me).send().await.assert(200, user_json(&alice, START));
    }

    /// Ids are matched exactly, as the Flask API looked them up (a key of
    /// its users file): another spelling of a user's UUID names no user.
    async fn user_ids_are_matched_exactly(backend: Backend) {
        let (service, alice, me) = with_alice(backend, "session_db_auth").await;
        for other in [
            alice.id.to_uppercase(),
            alice.id.replace('-', ""),
            format!("{{{}}}", alice.id),
            format!("urn:uuid:{}", alice.id),
        ] {
            let path = format!("/api/v1/users/{other}");
            service.get(&path).with(&me).send().await.assert(404, not_found());
            service
                .put(&path)
                .with(&me)
                .json(&json!({"first_name": "X"}))
                .send()
                .await
                .assert(404, not_found());
            service.delete(&path).with(&me).send().await.assert(404, not_found());
        }
        service
            .get(&format!("/api/v1/users/{}", alice.id))
            .with(&me)
            .send()
            .await
            .assert(200, user_json(&alice, START));
    }

    /// `DELETE /users/<id>` → `200 {}`, then the user is gone (404).
    async fn delete_user_is_200_then_404(backend: Backend) {
        let (service, _alice, me) = with_alice(backend, "session_db_auth").await;
        for s in SLASHES {
            let bob = service.create_user(&format!("bob{s}@example.com"), "bob-pw").await;
            let path = format!("/api/v1/users/{}{s}", bob.id);
            service.delete(&path).with(&me).send().await.assert(200, json!({}));
            service.get(&path).with(&me).send().await.assert(404, not_found());
            service.delete(&path).with(&me).send().await.assert(404, not_found());
            service
                .put(&path)
                .with(&me)
                .json(&json!({"first_name": "X"}))
                .send()
                .await
                .assert(404, not_found());
        }
        for id in ["2f0f3a4e-3b0c-4a4a-9d6c-2f1b7c9e0a11", "abc", "me"] {
            service
                .delete(&format!("/api/v1/users/{id}"))
                .with(&me)
                .send()
                .await
                .assert(404, not_found());
        }
        service.get("/api/v1/stats").with(&me).send().await.assert(200, json!({"users": 1}));
    }

    /// Deleting a user ends their sessions: their cookie is then refused;
    /// other users' sessions live on.
    async fn deleting_a_user_ends_their_sessions(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, _alice, me) = with_alice(backend, name).await;
            let bob = service.create_user("bob@example.com", "bob-pw").await;
            let bob_cookie = service.login(&bob).await;
            let bob_other_cookie = service.login(&bob).await;
            service.get("/api/v1/users/me").cookie(&bob_cookie).send().await.assert(200, user_json(&bob, START));
            service
                .delete(&format!("/api/v1/users/{}", bob.id))
                .with(&me)
                .send()
                .await
                .assert(200, json!({}));
            for cookie in [&bob_cookie, &bob_other_cookie] {
                service.get("/api/v1/users/me").cookie(cookie).send().await.assert(403, forbidden());
                service.delete("/api/v1/auth_session/logout").cookie(cookie).send().await.assert(403, forbidden());
            }
            service.get("/api/v1/users/me").with(&me).send().await.assert_status(200);
            if name == "session_db_auth" && backend == Backend::File {
                let sessions = service.read_file(".db_UserSession.json");
                assert!(!sessions.contains(&bob.id), "{name}: bob's sessions stayed on disk: {sessions}");
            }
        }
    }

    /// A user may delete themself; their session ends with them.
    async fn a_user_who_deletes_themself_is_then_forbidden(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, alice, me) = with_alice(backend, name).await;
            service
                .delete(&format!("/api/v1/users/{}", alice.id))
                .with(&me)
                .send()
                .await
                .assert(200, json!({}));
            service.get("/api/v1/users/me").with(&me).send().await.assert(403, forbidden());
        }
    }

    // ------------------------------------------------------------ the table

    /// Every row of the routes table, with and without the trailing slash,
    /// under every `AUTH_TYPE` that lets a request through; every
    /// `/api/v1` answer carries the CORS header.
    async fn every_route_answers_with_and_without_a_trailing_slash(backend: Backend) {
        for name in REACHABLE {
            for s in SLASHES {
                walk_the_routes_table(backend, name, s).await;
            }
        }
    }
}

async fn walk_the_routes_table(backend: Backend, name: &str, s: &str) {
    let (service, alice, me) = with_alice(backend, name).await;
    let context = format!("AUTH_TYPE={name}, suffix {s:?}");
    let api = |path: &str| format!("/api/v1{path}{s}");

    let reply = service.get(&api("/status")).with(&me).send().await;
    reply.assert(200, json!({"status": "OK"}));
    assert_cors(&reply);

    let reply = service.get(&api("/stats")).with(&me).send().await;
    reply.assert(200, json!({"users": 1}));
    assert_cors(&reply);

    let reply = service.get(&api("/unauthorized")).with(&me).send().await;
    reply.assert(401, unauthorized());
    assert_cors(&reply);

    let reply = service.get(&api("/forbidden")).with(&me).send().await;
    reply.assert(403, forbidden());
    assert_cors(&reply);

    let reply = service
        .post(&api("/users"))
        .with(&me)
        .json(&json!({"email": "bob@example.com", "password": "bob-pw", "first_name": "Bob"}))
        .send()
        .await;
    reply.assert_status(201);
    assert_cors(&reply);
    let bob = reply.json();
    assert_user_shape(&bob);
    assert_eq!(bob["email"], json!("bob@example.com"), "{context}");
    assert_eq!(bob["first_name"], json!("Bob"), "{context}");
    assert_eq!(bob["last_name"], Value::Null, "{context}");
    let bob_id = bob["id"].as_str().unwrap_or_default().to_owned();

    let reply = service.get(&api("/users")).with(&me).send().await;
    reply.assert_status(200);
    assert_cors(&reply);
    let list = reply.json();
    let users = list.as_array().cloned().unwrap_or_default();
    assert_eq!(users.len(), 2, "{context}: {list}");
    assert!(
        users.contains(&user_json(&alice, START)),
        "{context}: {list}"
    );
    assert!(users.contains(&bob), "{context}: {list}");

    let reply = service
        .get(&api(&format!("/users/{bob_id}")))
        .with(&me)
        .send()
        .await;
    reply.assert(200, bob.clone());
    assert_cors(&reply);

    let reply = service.get(&api("/users/me")).with(&me).send().await;
    if name == "none" {
        reply.assert(404, not_found());
    } else {
        reply.assert(200, user_json(&alice, START));
    }
    assert_cors(&reply);

    let reply = service
        .put(&api(&format!("/users/{bob_id}")))
        .with(&me)
        .json(&json!({"last_name": "Dylan"}))
        .send()
        .await;
    let mut updated = bob.clone();
    updated["last_name"] = json!("Dylan");
    reply.assert(200, updated);
    assert_cors(&reply);

    let reply = service
        .delete(&api(&format!("/users/{bob_id}")))
        .with(&me)
        .send()
        .await;
    reply.assert(200, json!({}));
    assert_cors(&reply);

    let reply = service
        .get(&api(&format!("/users/{bob_id}")))
        .with(&me)
        .send()
        .await;
    reply.assert(404, not_found());
    assert_cors(&reply);

    service
        .get(&api("/stats"))
        .with(&me)
        .send()
        .await
        .assert(200, json!({"users": 1}));

    let reply = service.get(&api("/no_such_route")).with(&me).send().await;
    reply.assert(404, not_found());
    assert_cors(&reply);

    if SESSION_TYPES.contains(&name) {
        let reply = service
            .post(&api("/auth_session/login"))
            .form(&[("email", &alice.email), ("password", &alice.password)])
            .send()
            .await;
        reply.assert(200, user_json(&alice, START));
        assert_cors(&reply);
        let token = reply.set_cookie().value;
        service
            .get(&api("/users/me"))
            .cookie(&token)
            .send()
            .await
            .assert(200, user_json(&alice, START));
        let reply = service
            .delete(&api("/auth_session/logout"))
            .cookie(&token)
            .send()
            .await;
        reply.assert(200, json!({}));
        assert_cors(&reply);
        service
            .get(&api("/users/me"))
            .cookie(&token)
            .send()
            .await
            .assert(403, forbidden());
    }
}
