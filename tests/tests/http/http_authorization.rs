//! Who may do what, through the real router on every storage: the
//! authorization matrix (anonymous, a user, another user, an administrator
//! × every route) under `ACCESS_POLICY=open` and `owner`, with storage
//! unchanged after every refusal; then the rules one by one: the last
//! administrator, the administrator flag on the wire, and open
//! registration with its throttle.

use poem::http::Method;
use serde_json::{Value, json};

use domain::{AccessPolicy, Registration, User};
use integration_tests::http_harness::{Account, Backend, Reply, Service, assert_user_shape};
use integration_tests::http_tests;

/// Who calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    /// No credentials.
    Anonymous,
    /// Alice, whose user the matrix's routes name.
    User,
    /// Bob, another user who is not an administrator.
    Other,
    /// Root, an administrator.
    Admin,
}

/// The order the matrix calls in: Alice last, so a route that ends
/// something of hers (her spare session) is first tried by the others.
const CALLERS: [Who; 4] = [Who::Anonymous, Who::Other, Who::Admin, Who::User];

/// Expected statuses for anonymous, user, other, admin.
type Statuses = [u16; 4];

fn index(who: Who) -> usize {
    match who {
        Who::Anonymous => 0,
        Who::User => 1,
        Who::Other => 2,
        Who::Admin => 3,
    }
}

/// Three users logged in under `session_db_auth` with these access rules.
struct World {
    service: Service,
    alice: Account,
    bob: Account,
    root: Account,
    cookies: [Option<String>; 4],
}

async fn world(backend: Backend, policy: AccessPolicy, registration: Registration) -> World {
    let service = Service::builder(backend)
        .with(|settings| {
            settings.access.policy = policy;
            settings.access.registration = registration;
        })
        .start()
        .await;
    let alice = service.create_user("alice@example.com", "alice pw").await;
    let bob = service.create_user("bob@example.com", "bob pw").await;
    let root = service.create_admin("root@example.com", "root pw").await;
    let cookies = [
        None,
        Some(service.login(&alice).await),
        Some(service.login(&bob).await),
        Some(service.login(&root).await),
    ];
    World {
        service,
        alice,
        bob,
        root,
        cookies,
    }
}

impl World {
    fn account(&self, who: Who) -> Option<&Account> {
        match who {
            Who::Anonymous => None,
            Who::User => Some(&self.alice),
            Who::Other => Some(&self.bob),
            Who::Admin => Some(&self.root),
        }
    }

    async fn send(&self, who: Who, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let mut call = self.service.request(method, path);
        if let Some(cookie) = &self.cookies[index(who)] {
            call = call.cookie(cookie);
        }
        if let Some(body) = body {
            call = call.json(body);
        }
        call.send().await
    }

    async fn users(&self) -> Vec<User> {
        self.service
            .storage()
            .users
            .list()
            .await
            .unwrap_or_else(|e| panic!("cannot list users: {e}"))
    }
}

/// One route of the matrix.
struct Route {
    method: Method,
    /// `{user}` stands for Alice's id, `{n}` for a number unique to the
    /// call.
    path: &'static str,
    body: Option<Value>,
    open: Statuses,
    owner: Statuses,
}

fn route(method: Method, path: &'static str, open: Statuses, owner: Statuses) -> Route {
    Route {
        method,
        path,
        body: None,
        open,
        owner,
    }
}

const ALL_200: Statuses = [200, 200, 200, 200];
const GUARDED_200: Statuses = [401, 200, 200, 200];
const OWN_ONLY: Statuses = [401, 200, 404, 200];

/// Every route but the deletions and logout, which the matrix runs last.
fn routes() -> Vec<Route> {
    vec![
        route(Method::GET, "/api/v1/status", ALL_200, ALL_200),
        route(Method::GET, "/api/v1/unauthorized", [401; 4], [401; 4]),
        route(Method::GET, "/api/v1/forbidden", [403; 4], [403; 4]),
        route(Method::GET, "/api/v1/openapi.json", ALL_200, ALL_200),
        route(
            Method::GET,
            "/api/v1/stats",
            GUARDED_200,
            [401, 403, 403, 200],
        ),
        route(Method::GET, "/api/v1/users", GUARDED_200, GUARDED_200),
        route(Method::GET, "/api/v1/users/me", GUARDED_200, GUARDED_200),
        route(Method::GET, "/api/v1/users/{user}", GUARDED_200, OWN_ONLY),
        route(
            Method::GET,
            "/api/v1/users/00000000-0000-4000-8000-000000000000",
            [401, 404, 404, 404],
            [401, 404, 404, 404],
        ),
        Route {
            body: Some(json!({"last_name": "Changed"})),
            ..route(Method::PUT, "/api/v1/users/{user}", GUARDED_200, OWN_ONLY)
        },
        Route {
            // Alice's own flag, unchanged: harmless for everyone who may
            // see her.
            body: Some(json!({"is_admin": false})),
            ..route(Method::PUT, "/api/v1/users/{user}", GUARDED_200, OWN_ONLY)
        },
        Route {
            body: Some(json!({})),
            ..route(
                Method::PUT,
                "/api/v1/users/me/password",
                [401, 400, 400, 400],
                [401, 400, 400, 400],
            )
        },
        Route {
            body: Some(json!({"email": "new{n}@example.com", "password": "pw"})),
            ..route(
                Method::POST,
                "/api/v1/users",
                [401, 201, 201, 201],
                [401, 403, 403, 201],
            )
        },
        route(
            Method::GET,
            "/api/v1/auth_session/sessions",
            GUARDED_200,
            GUARDED_200,
        ),
        // Alice's spare session: only she can end it (session routes act on
        // the caller's own sessions, an administrator's too).
        route(
            Method::DELETE,
            "/api/v1/auth_session/sessions/{spare}",
            [401, 200, 404, 404],
            [401, 200, 404, 404],
        ),
    ]
}

/// Runs the matrix under `policy` on `backend`.
async fn matrix(backend: Backend, policy: AccessPolicy) {
    let w = world(backend, policy, Registration::Closed).await;
    let spare = w.service.login(&w.alice).await;
    let listed = w
        .service
        .get("/api/v1/auth_session/sessions")
        .cookie(&spare)
        .send()
        .await;
    let spare_handle = listed
        .json()
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["current"] == json!(true))
        .and_then(|s| s["id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("the spare session is not listed: {}", listed.text()));
    let mut n = 0;
    for route in routes() {
        let expected = match policy {
            AccessPolicy::Open => route.open,
            AccessPolicy::Owner => route.owner,
        };
        for who in CALLERS {
            n += 1;
            let path = route
                .path
                .replace("{user}", &w.alice.id)
                .replace("{spare}", &spare_handle);
            let body = route
                .body
                .as_ref()
                .map(|b| serde_json::from_str(&b.to_string().replace("{n}", &n.to_string())))
                .transpose()
                .unwrap_or_else(|e| panic!("a body of the table: {e}"));
            let before = w.users().await;
            let reply = w
                .send(who, route.method.clone(), &path, body.as_ref())
                .await;
            assert_eq!(
                reply.status.as_u16(),
                expected[index(who)],
                "{policy:?}, {who:?}: {} → {} {}",
                reply.request,
                reply.status,
                reply.text()
            );
            if reply.status.as_u16() >= 400 {
                assert_eq!(
                    w.users().await,
                    before,
                    "{policy:?}, {who:?}: {} was refused but changed the users",
                    reply.request
                );
            }
            if route.method == Method::GET && route.path == "/api/v1/users" && who != Who::Anonymous
            {
                let ids: Vec<String> = reply
                    .json()
                    .as_array()
                    .unwrap_or_else(|| panic!("not a list"))
                    .iter()
                    .map(|u| u["id"].as_str().unwrap_or("").to_owned())
                    .collect();
                let all: Vec<String> = w.users().await.iter().map(|u| u.id.to_string()).collect();
                let own = vec![w.account(who).map(|a| a.id.clone()).unwrap_or_default()];
                let sees_all = policy == AccessPolicy::Open || who == Who::Admin;
                assert_eq!(ids, if sees_all { all } else { own }, "{policy:?}, {who:?}");
            }
        }
    }

    // Deletions: each caller deletes a user of their own choosing: a fresh
    // victim, or (Alice) a fresh user deleting themselves.
    let delete_expected: Statuses = match policy {
        AccessPolicy::Open => [401, 200, 200, 200],
        AccessPolicy::Owner => [401, 200, 404, 200],
    };
    for who in CALLERS {
        let victim = w
            .service
            .create_user(&format!("victim-{}@example.com", index(who)), "pw")
            .await;
        let reply = if who == Who::User {
            let cookie = w.service.login(&victim).await;
            w.service
                .delete(&format!("/api/v1/users/{}", victim.id))
                .cookie(&cookie)
                .send()
                .await
        } else {
            let before = w.users().await;
            let reply = w
                .send(
                    who,
                    Method::DELETE,
                    &format!("/api/v1/users/{}", victim.id),
                    None,
                )
                .await;
            if reply.status.as_u16() >= 400 {
                assert_eq!(w.users().await, before, "{policy:?}, {who:?}");
            }
            reply
        };
        assert_eq!(
            reply.status.as_u16(),
            delete_expected[index(who)],
            "{policy:?}, {who:?}: {} → {}",
            reply.request,
            reply.text()
        );
    }

    // Logout ends only the caller's own session.
    for who in CALLERS {
        let reply = w
            .send(who, Method::DELETE, "/api/v1/auth_session/logout", None)
            .await;
        assert_eq!(
            reply.status.as_u16(),
            if who == Who::Anonymous { 401 } else { 200 },
            "{policy:?}, {who:?}: {}",
            reply.text()
        );
        if who == Who::Other {
            w.send(Who::User, Method::GET, "/api/v1/users/me", None)
                .await
                .assert_status(200);
        }
    }
}

http_tests! {
    async fn the_authorization_matrix_under_the_open_policy_is_the_flask_apis(backend: Backend) {
        matrix(backend, AccessPolicy::Open).await;
    }

    async fn the_authorization_matrix_under_the_owner_policy(backend: Backend) {
        matrix(backend, AccessPolicy::Owner).await;
    }

    /// An administrator cannot take the right from the last administrator,
    /// themselves included, nor delete them; with a second administrator
    /// both become possible.
    async fn the_last_administrator_keeps_the_right(backend: Backend) {
        let w = world(backend, AccessPolicy::Owner, Registration::Closed).await;
        let root_path = format!("/api/v1/users/{}", w.root.id);
        let before = w.users().await;
        w.send(Who::Admin, Method::PUT, &root_path, Some(&json!({"is_admin": false})))
            .await
            .assert(
                409,
                json!({"error": "Can't update User: the last administrator cannot lose the right"}),
            );
        w.send(Who::Admin, Method::DELETE, &root_path, None).await.assert(
            409,
            json!({"error": "Can't delete User: the last administrator cannot be deleted"}),
        );
        assert_eq!(w.users().await, before, "nothing changed");

        let bob_path = format!("/api/v1/users/{}", w.bob.id);
        let granted = w
            .send(Who::Admin, Method::PUT, &bob_path, Some(&json!({"is_admin": true})))
            .await;
        granted.assert_status(200);
        assert_eq!(granted.json()["is_admin"], json!(true));
        // Bob's next request sees his new right.
        w.send(Who::Other, Method::GET, "/api/v1/stats", None)
            .await
            .assert(200, json!({"users": 3}));

        let revoked = w
            .send(Who::Admin, Method::PUT, &root_path, Some(&json!({"is_admin": false, "first_name": "Ex"})))
            .await;
        revoked.assert_status(200);
        assert_eq!(revoked.json()["is_admin"], json!(false));
        assert_eq!(revoked.json()["first_name"], json!("Ex"));
        w.send(Who::Admin, Method::GET, "/api/v1/users", None)
            .await
            .assert_status(200);
        assert_eq!(
            w.send(Who::Admin, Method::GET, "/api/v1/users", None).await.json().as_array().map(Vec::len),
            Some(1),
            "no longer an administrator, root sees only themselves"
        );
        w.send(Who::Other, Method::DELETE, &bob_path, None).await.assert_status(409);
        w.send(Who::Other, Method::DELETE, &root_path, None)
            .await
            .assert(200, json!({}));
    }

    /// Only an administrator changes `is_admin`; a user sending the value
    /// they have changes nothing and is no error; anything but a boolean
    /// is a wrong format under `owner`, and ignored under `open` as the
    /// Flask API ignored every field but the names.
    async fn only_an_administrator_changes_the_flag(backend: Backend) {
        let w = world(backend, AccessPolicy::Owner, Registration::Closed).await;
        let alice_path = format!("/api/v1/users/{}", w.alice.id);
        let before = w.users().await;
        w.send(Who::User, Method::PUT, &alice_path, Some(&json!({"is_admin": true, "first_name": "A"})))
            .await
            .assert(403, json!({"error": "Forbidden: administrators only"}));
        w.send(Who::User, Method::PUT, &alice_path, Some(&json!({"is_admin": "yes"})))
            .await
            .assert(400, json!({"error": "Wrong format"}));
        assert_eq!(w.users().await, before, "nothing changed");
        let same = w
            .send(Who::User, Method::PUT, &alice_path, Some(&json!({"is_admin": false, "first_name": "A"})))
            .await;
        same.assert_status(200);
        assert_eq!(same.json()["first_name"], json!("A"));

        let open = world(backend, AccessPolicy::Open, Registration::Closed).await;
        let path = format!("/api/v1/users/{}", open.alice.id);
        for flag in [json!(true), json!("yes")] {
            let reply = open
                .send(Who::Other, Method::PUT, &path, Some(&json!({"is_admin": flag})))
                .await;
            reply.assert_status(200);
            assert_user_shape(&reply.json());
        }
        let alice = open.users().await.into_iter().find(|u| u.id.to_string() == open.alice.id);
        assert_eq!(alice.map(|u| u.is_admin), Some(false), "ignored under open");
    }

    /// Under `open` a user is exactly the Flask API's, an administrator
    /// included; under `owner` every user shows `is_admin`.
    async fn users_show_the_flag_only_under_the_owner_policy(backend: Backend) {
        let open = world(backend, AccessPolicy::Open, Registration::Closed).await;
        for who in [Who::User, Who::Admin] {
            let me = open.send(who, Method::GET, "/api/v1/users/me", None).await;
            assert_user_shape(&me.json());
            for user in open.send(who, Method::GET, "/api/v1/users", None).await.json().as_array().into_iter().flatten() {
                assert_user_shape(user);
            }
        }
        let login = open
            .service
            .post("/api/v1/auth_session/login")
            .form(&[("email", "root@example.com"), ("password", "root pw")])
            .send()
            .await;
        assert_user_shape(&login.json());

        let owner = world(backend, AccessPolicy::Owner, Registration::Closed).await;
        for (who, is_admin) in [(Who::User, false), (Who::Admin, true)] {
            let me = owner.send(who, Method::GET, "/api/v1/users/me", None).await.json();
            assert_eq!(me["is_admin"], json!(is_admin), "{me}");
            let mut without = me.clone();
            without.as_object_mut().map(|o| o.remove("is_admin"));
            assert_user_shape(&without);
        }
    }

    /// `REGISTRATION=open`: an anonymous `POST /users` (a stale cookie
    /// counts as none) creates a user who is not an administrator, under
    /// either policy; a logged-in user who is not an administrator still
    /// may not create users under `owner`.
    async fn open_registration_creates_users_who_are_not_administrators(backend: Backend) {
        for policy in [AccessPolicy::Open, AccessPolicy::Owner] {
            let w = world(backend, policy, Registration::Open).await;
            let created = w
                .service
                .post("/api/v1/users")
                .json(&json!({"email": "new@example.com", "password": "pw", "is_admin": true}))
                .send()
                .await;
            created.assert_status(201);
            let new = w
                .users()
                .await
                .into_iter()
                .find(|u| u.email.as_str() == "new@example.com");
            assert_eq!(new.map(|u| u.is_admin), Some(false), "{policy:?}");
            w.service
                .post("/api/v1/users")
                .cookie("stale-token")
                .json(&json!({"email": "stale@example.com", "password": "pw"}))
                .send()
                .await
                .assert_status(201);
            w.service
                .post("/api/v1/users")
                .json(&json!({"email": "new@example.com", "password": "pw"}))
                .send()
                .await
                .assert(400, json!({"error": "Can't create User: email already exists"}));
            let by_user = w
                .send(Who::User, Method::POST, "/api/v1/users", Some(&json!({"email": "x@example.com", "password": "pw"})))
                .await;
            let expected = if policy == AccessPolicy::Owner { 403 } else { 201 };
            by_user.assert_status(expected);
            // Only POST /users is open: every other route still needs
            // credentials.
            w.service.get("/api/v1/users").send().await.assert_status(401);
        }
    }

    /// Registrations are limited per client address as failed logins are
    /// (`THROTTLE_ADDRESS_FAILURES` per `THROTTLE_BACKOFF`), without
    /// counting against that address's logins.
    async fn open_registration_is_throttled_per_client_address(backend: Backend) {
        let service = Service::builder(backend)
            .with(|settings| {
                settings.access.registration = Registration::Open;
                settings.trust_forwarded_for = true;
                settings.throttle.address_max_failures = 3;
            })
            .start()
            .await;
        let alice = service.create_user("alice@example.com", "alice pw").await;
        let register = |n: usize, address: &'static str| {
            service
                .post("/api/v1/users")
                .from_address(address)
                .json(&json!({"email": format!("r{n}@example.com"), "password": "pw"}))
                .send()
        };
        for n in 0..3 {
            register(n, "203.0.113.1").await.assert_status(201);
        }
        let refused = register(3, "203.0.113.1").await;
        refused.assert(429, json!({"error": "Too many attempts"}));
        assert!(refused.retry_after() >= 1 && refused.retry_after() <= 60);
        let taken = service
            .storage()
            .users
            .list()
            .await
            .unwrap_or_default()
            .iter()
            .any(|u| u.email.as_str() == "r3@example.com");
        assert!(!taken, "a refused registration creates nobody");
        register(4, "203.0.113.2").await.assert_status(201);
        service
            .post("/api/v1/auth_session/login")
            .from_address("203.0.113.1")
            .form(&[("email", &alice.email), ("password", &alice.password)])
            .send()
            .await
            .assert_status(200);
        service.clock.advance(61);
        register(5, "203.0.113.1").await.assert_status(201);
    }

    /// The OpenAPI document says what the active policy allows whom.
    async fn the_document_describes_the_active_policy(backend: Backend) {
        let open = world(backend, AccessPolicy::Open, Registration::Closed).await;
        let doc = open.service.get("/api/v1/openapi.json").send().await.json();
        assert!(doc.pointer("/components/schemas/UserBody/properties/is_admin").is_none());
        assert!(doc.pointer("/components/schemas/UpdateUserRequest/properties/is_admin").is_none());
        assert!(doc.pointer("/paths/~1api~1v1~1users/post/security").is_some());
        assert!(doc.pointer("/paths/~1api~1v1~1users/post/x-administrators-only").is_none());

        let owner = world(backend, AccessPolicy::Owner, Registration::Open).await;
        let doc = owner.service.get("/api/v1/openapi.json").send().await.json();
        let required = doc
            .pointer("/components/schemas/UserBody/required")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        assert!(required.contains(&json!("is_admin")), "{required:?}");
        assert!(doc.pointer("/components/schemas/UpdateUserRequest/properties/is_admin").is_some());
        let create = doc.pointer("/paths/~1api~1v1~1users/post").cloned().unwrap_or_default();
        assert!(create.get("security").is_none(), "registration is anonymous: {create}");
        assert!(create.pointer("/responses/401").is_none());
        assert!(create.pointer("/responses/429").is_some());
        assert!(create["description"].as_str().unwrap_or("").contains("REGISTRATION=open"));
        assert_eq!(
            doc.pointer("/paths/~1api~1v1~1stats/get/x-administrators-only"),
            Some(&json!(true))
        );
        for (path, status) in [
            ("/paths/~1api~1v1~1users~1{user_id}/put/responses/409", "409"),
            ("/paths/~1api~1v1~1users~1{user_id}/delete/responses/409", "409"),
            ("/paths/~1api~1v1~1users~1{user_id}/put/responses/403", "403"),
        ] {
            assert!(doc.pointer(path).is_some(), "{status} missing at {path}");
        }
    }
}
