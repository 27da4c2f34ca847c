//! This project's additions (`docs/contract.md`, Part B) through the real
//! router: `405` with `Allow` (#b8-methods), CORS on every answer (#a6-cors)
//! and preflights before the gate (#b7-preflight), and the OpenAPI document
//! and Swagger UI outside the gate (#b6-docs).

use poem::http::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

use integration_tests::http_harness::{Backend, Credential, GUARDED, Reply, Service, USER_KEYS};
use integration_tests::http_tests;
use integration_tests::wire::{assert_cors, method_not_allowed};

const OPENAPI: &str = "/api/v1/openapi.json";
const DOCS: &str = "/api/v1/docs";

/// The methods of the `Allow` header.
#[track_caller]
fn allowed(reply: &Reply) -> BTreeSet<String> {
    let allow = reply
        .header("allow")
        .unwrap_or_else(|| panic!("{}: no Allow header", reply.request));
    allow
        .split(',')
        .map(|m| m.trim().to_ascii_uppercase())
        .filter(|m| !m.is_empty())
        .collect()
}

#[track_caller]
fn assert_allows(reply: &Reply, methods: &[&str]) {
    reply.assert(405, method_not_allowed());
    let allow = allowed(reply);
    for method in methods {
        assert!(
            allow.contains(*method),
            "{}: Allow {allow:?} lacks {method}",
            reply.request
        );
    }
    let requested = reply.request.split(' ').next().unwrap_or("");
    assert!(
        !allow.contains(requested),
        "{}: Allow {allow:?} lists the refused method",
        reply.request
    );
}

async fn signed_in(backend: Backend, auth_type: &str) -> (Service, String, Credential) {
    let service = Service::start(backend, auth_type).await;
    let alice = service.create_user("alice@example.com", "alice-pw").await;
    let credential = service.credential_for(&alice).await;
    (service, alice.id, credential)
}

async fn openapi_document(service: &Service) -> Value {
    let reply = service.get(OPENAPI).send().await;
    reply.assert_status(200);
    reply.json()
}

/// `(path, method)` of every operation of the routes table, with the
/// statuses each must document, and whether the gate guards it.
fn routes_table() -> Vec<(&'static str, &'static str, Vec<&'static str>, bool)> {
    vec![
        ("/api/v1/status", "get", vec!["200"], false),
        ("/api/v1/stats", "get", vec!["200", "401", "403"], true),
        ("/api/v1/unauthorized", "get", vec!["401"], false),
        ("/api/v1/forbidden", "get", vec!["403"], false),
        ("/api/v1/users", "get", vec!["200", "401", "403"], true),
        (
            "/api/v1/users",
            "post",
            vec!["201", "400", "401", "403"],
            true,
        ),
        // `/users/{user_id}` with `me`, documented as its own operation.
        (
            "/api/v1/users/me",
            "get",
            vec!["200", "401", "403", "404"],
            true,
        ),
        (
            "/api/v1/users/{}",
            "get",
            vec!["200", "401", "403", "404"],
            true,
        ),
        (
            "/api/v1/users/{}",
            "put",
            vec!["200", "400", "401", "403", "404"],
            true,
        ),
        (
            "/api/v1/users/{}",
            "delete",
            vec!["200", "401", "403", "404"],
            true,
        ),
        (
            "/api/v1/auth_session/login",
            "post",
            vec!["200", "400", "401", "404", "429"],
            false,
        ),
        (
            "/api/v1/auth_session/logout",
            "delete",
            vec!["200", "401", "403", "404"],
            true,
        ),
        // Issue 4: a user's own sessions and password.
        (
            "/api/v1/auth_session/sessions",
            "get",
            vec!["200", "401", "403", "404"],
            true,
        ),
        (
            "/api/v1/auth_session/sessions",
            "delete",
            vec!["200", "401", "403", "404"],
            true,
        ),
        (
            "/api/v1/auth_session/sessions/{}",
            "delete",
            vec!["200", "401", "403", "404"],
            true,
        ),
        (
            "/api/v1/users/me/password",
            "put",
            vec!["200", "400", "401", "403", "404", "429"],
            true,
        ),
        // Issue 21: password reset by mail.
        (
            "/api/v1/auth_session/password_reset",
            "post",
            vec!["200", "202", "400", "404"],
            false,
        ),
    ]
}

/// `/api/v1/users/{user_id}` → `/api/v1/users/{}`.
fn normalise_template(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push('{');
            }
            '}' => {
                in_param = false;
                out.push('}');
            }
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// Follows a `$ref` inside the document.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            document.pointer(pointer).unwrap_or(&Value::Null)
        }
        None => value,
    }
}

http_tests! {
    // ------------------------------------------------------------------ 405

    /// A method a route does not support → `405 {"error": "Method not allowed"}`
    /// with an `Allow` header listing the route's methods.
    async fn unsupported_method_is_405_with_an_allow_header(backend: Backend) {
        for name in ["none", "basic_auth", "session_db_auth"] {
            let (service, id, me) = signed_in(backend, name).await;
            let user = format!("/api/v1/users/{id}");
            let cases: Vec<(Method, String, Vec<&str>)> = vec![
                (Method::PATCH, "/api/v1/users".into(), vec!["GET", "POST"]),
                (Method::PATCH, "/api/v1/users/".into(), vec!["GET", "POST"]),
                (Method::DELETE, "/api/v1/users".into(), vec!["GET", "POST"]),
                (Method::PUT, "/api/v1/users".into(), vec!["GET", "POST"]),
                (Method::POST, user.clone(), vec!["GET", "PUT", "DELETE"]),
                (Method::PATCH, format!("{user}/"), vec!["GET", "PUT", "DELETE"]),
                (Method::POST, "/api/v1/users/me".into(), vec!["GET", "PUT", "DELETE"]),
                (Method::GET, "/api/v1/auth_session/logout".into(), vec!["DELETE"]),
                (Method::POST, "/api/v1/stats".into(), vec!["GET"]),
            ];
            for (method, path, methods) in cases {
                let reply = service.request(method, &path).with(&me).send().await;
                assert_allows(&reply, &methods);
                assert_cors(&reply);
            }
        }
    }

    /// HEAD is answered wherever GET is, and the `Allow` header says so.
    async fn head_is_allowed_wherever_get_is(backend: Backend) {
        let (service, _, me) = signed_in(backend, "session_db_auth").await;
        let reply = service.request(Method::PATCH, "/api/v1/users").with(&me).send().await;
        assert!(allowed(&reply).contains("HEAD"), "Allow: {:?}", allowed(&reply));
        let reply = service.request(Method::PATCH, "/api/v1/auth_session/logout").with(&me).send().await;
        assert!(!allowed(&reply).contains("HEAD"), "logout has no GET");
        service.request(Method::HEAD, "/api/v1/status").send().await.assert_status(200);
        service.request(Method::HEAD, "/api/v1/users").with(&me).send().await.assert_status(200);
    }

    /// JSON answers say `application/json`, exactly as the Flask API's did
    /// (clients that compare the header whole keep working).
    async fn json_answers_are_plain_application_json(backend: Backend) {
        let (service, _, me) = signed_in(backend, "session_db_auth").await;
        for reply in [
            service.get("/api/v1/status").send().await,
            service.get("/api/v1/users/me").with(&me).send().await,
            service.get("/api/v1/nowhere").with(&me).send().await,
            service.get("/api/v1/users").send().await,
        ] {
            assert_eq!(reply.header("content-type"), Some("application/json"), "{}", reply.request);
        }
    }

    /// Excluded routes answer 405 without credentials.
    async fn unsupported_method_on_an_excluded_route_is_405_without_credentials(backend: Backend) {
        let service = Service::start(backend, "session_db_auth").await;
        for (method, path, methods) in [
            (Method::GET, "/api/v1/auth_session/login", vec!["POST"]),
            (Method::PUT, "/api/v1/status", vec!["GET"]),
            (Method::POST, "/api/v1/status/", vec!["GET"]),
            (Method::DELETE, "/api/v1/unauthorized", vec!["GET"]),
        ] {
            let reply = service.request(method, path).send().await;
            assert_allows(&reply, &methods);
            assert_cors(&reply);
        }
    }

    /// The gate runs before routing: without credentials a wrong method on a
    /// guarded route is 401, and with a bad cookie 403.
    async fn unsupported_method_on_a_guarded_route_still_meets_the_gate_first(backend: Backend) {
        for name in GUARDED {
            let service = Service::start(backend, name).await;
            service
                .request(Method::PATCH, "/api/v1/users")
                .send()
                .await
                .assert(401, json!({"error": "Unauthorized"}));
            service
                .request(Method::PATCH, "/api/v1/users")
                .cookie("nope")
                .send()
                .await
                .assert(403, json!({"error": "Forbidden"}));
        }
    }

    /// Only the two documents are outside the gate: any other path that
    /// merely starts like them is an unknown path, 401 without credentials.
    async fn paths_that_only_start_like_the_documents_are_guarded(backend: Backend) {
        for name in GUARDED {
            let service = Service::start(backend, name).await;
            for path in [
                "/api/v1/openapi.jsonx",
                "/api/v1/openapi.json/x",
                "/api/v1/docsx",
                "/api/v1/docs/x",
                "/api/v1/docs/oauth2-redirect.html",
            ] {
                service
                    .get(path)
                    .send()
                    .await
                    .assert(401, json!({"error": "Unauthorized"}));
            }
        }
    }

    /// A wrong method on a path no route serves is still 404.
    async fn unsupported_method_on_an_unknown_path_is_404(backend: Backend) {
        let (service, _id, me) = signed_in(backend, "session_db_auth").await;
        service
            .request(Method::PATCH, "/api/v1/nope")
            .with(&me)
            .send()
            .await
            .assert(404, json!({"error": "Not found"}));
    }

    // ----------------------------------------------------------------- CORS

    /// Every `/api/v1` answer carries `Access-Control-Allow-Origin: *`,
    /// errors included.
    async fn cors_header_is_on_every_api_response_including_errors(backend: Backend) {
        let (service, id, me) = signed_in(backend, "session_db_auth").await;
        let origin = ("Origin", "https://app.example.com");
        let replies = vec![
            service.get("/api/v1/status").header(origin.0, origin.1).send().await,
            service.get("/api/v1/users").header(origin.0, origin.1).with(&me).send().await,
            service.get("/api/v1/users").header(origin.0, origin.1).send().await,
            service.get("/api/v1/users").header(origin.0, origin.1).cookie("nope").send().await,
            service.get("/api/v1/nope").header(origin.0, origin.1).with(&me).send().await,
            service.get(&format!("/api/v1/users/{id}x")).with(&me).send().await,
            service.post("/api/v1/users").with(&me).json(&json!({})).send().await,
            service
                .post("/api/v1/users")
                .with(&me)
                .json(&json!({"email": "bob@example.com", "password": "pw"}))
                .send()
                .await,
            service.request(Method::PATCH, "/api/v1/users").with(&me).send().await,
            service.post("/api/v1/auth_session/login").form(&[("email", "x")]).send().await,
            service.get("/api/v1/unauthorized").send().await,
            service.get("/api/v1/forbidden").send().await,
            service.get(OPENAPI).send().await,
            service.get(DOCS).send().await,
        ];
        let statuses: BTreeSet<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
        for status in [200, 201, 400, 401, 403, 404, 405] {
            assert!(statuses.contains(&status), "no {status} among {statuses:?}");
        }
        for reply in &replies {
            assert_cors(reply);
        }
    }

    /// A preflight (`OPTIONS` with `Access-Control-Request-Method`) is
    /// answered before the gate, without credentials, under every policy.
    async fn cors_preflight_is_answered_without_credentials(backend: Backend) {
        for name in GUARDED {
            let service = Service::start(backend, name).await;
            for (path, method) in [
                ("/api/v1/users", "POST"),
                ("/api/v1/users/", "GET"),
                ("/api/v1/users/me", "GET"),
                ("/api/v1/auth_session/logout", "DELETE"),
                ("/api/v1/auth_session/login", "POST"),
            ] {
                let reply = service
                    .request(Method::OPTIONS, path)
                    .header("Origin", "https://app.example.com")
                    .header("Access-Control-Request-Method", method)
                    .header("Access-Control-Request-Headers", "content-type")
                    .send()
                    .await;
                assert!(
                    reply.status.is_success(),
                    "{name}: {} answered {} {}",
                    reply.request,
                    reply.status,
                    reply.text()
                );
                assert_cors(&reply);
                let methods = reply.header("access-control-allow-methods").unwrap_or("");
                assert!(methods.contains(method), "{name}: {path}: Allow-Methods {methods:?}");
                let headers = reply.header("access-control-allow-headers").unwrap_or("");
                assert!(
                    headers.to_ascii_lowercase().contains("content-type"),
                    "{name}: {path}: Allow-Headers {headers:?}"
                );
            }
        }
    }

    /// An `OPTIONS` request that is not a preflight is an ordinary request:
    /// the gate applies.
    async fn options_without_a_preflight_header_meets_the_gate(backend: Backend) {
        let service = Service::start(backend, "session_db_auth").await;
        service
            .request(Method::OPTIONS, "/api/v1/users")
            .header("Origin", "https://app.example.com")
            .send()
            .await
            .assert(401, json!({"error": "Unauthorized"}));
    }

    // -------------------------------------------------------------- OpenAPI

    /// The OpenAPI document and Swagger UI are outside the gate, under every
    /// policy, slash tolerant.
    async fn openapi_document_and_docs_need_no_credentials(backend: Backend) {
        for name in GUARDED {
            let service = Service::start(backend, name).await;
            for suffix in ["", "/"] {
                let reply = service.get(&format!("{OPENAPI}{suffix}")).send().await;
                reply.assert_status(200);
                let document = reply.json();
                let version = document["openapi"].as_str().unwrap_or("");
                assert!(version.starts_with('3'), "{name}: openapi {version:?}");
                assert_cors(&reply);

                let reply = service.get(&format!("{DOCS}{suffix}")).send().await;
                reply.assert_status(200);
                let content_type = reply.header("content-type").unwrap_or("");
                assert!(content_type.starts_with("text/html"), "{name}: {content_type}");
                assert!(reply.text().to_ascii_lowercase().contains("swagger"), "{name}: not Swagger UI");
                assert_cors(&reply);
            }
        }
    }

    /// The document declares only the security scheme that works from a
    /// browser for the active `AUTH_TYPE` (issue 11 changed this from
    /// "both schemes always"): the cookie scheme, with the configured cookie
    /// name, under the session policies, whose login operation says it sets
    /// the cookie; HTTP Basic under `basic_auth`; none under `auth` and
    /// `none`. Every operation's security names only the declared scheme.
    async fn openapi_document_declares_only_the_working_security_scheme(backend: Backend) {
        let cases: [(&str, &[&str]); 6] = [
            ("session_auth", &["_my_session_id", "sid"]),
            ("session_exp_auth", &["_my_session_id"]),
            ("session_db_auth", &["_my_session_id", "sid"]),
            ("basic_auth", &["_my_session_id"]),
            ("auth", &["_my_session_id"]),
            ("none", &["_my_session_id"]),
        ];
        for (policy, session_names) in cases {
            for session_name in session_names.iter().copied() {
                let service = Service::builder(backend)
                    .auth_type(policy)
                    .session_name(session_name)
                    .start()
                    .await;
                let document = openapi_document(&service).await;
                let schemes = document["components"]["securitySchemes"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                let cookie = schemes.values().find(|s| s["type"] == "apiKey" && s["in"] == "cookie");
                let basic = schemes.values().find(|s| s["type"] == "http" && s["scheme"] == "basic");
                let login = &document["paths"]["/api/v1/auth_session/login"]["post"];
                match policy {
                    "session_auth" | "session_exp_auth" | "session_db_auth" => {
                        assert_eq!(schemes.len(), 1, "{policy}: {schemes:?}");
                        let cookie = cookie.unwrap_or_else(|| panic!("{policy}: no cookie scheme: {schemes:?}"));
                        assert_eq!(cookie["name"], json!(session_name), "{policy}: {cookie}");
                        let description = login["description"].as_str().unwrap_or_default();
                        assert!(
                            description.contains("Set-Cookie") && description.contains("Try it out"),
                            "{policy}: the login description must say it sets the cookie: {description:?}"
                        );
                    }
                    "basic_auth" => {
                        assert_eq!(schemes.len(), 1, "{policy}: {schemes:?}");
                        assert!(basic.is_some(), "{policy}: no Basic scheme: {schemes:?}");
                    }
                    _ => assert!(schemes.is_empty(), "{policy}: declares {schemes:?}"),
                }
                // Every operation's security names the declared schemes only.
                for (template, operations) in document["paths"].as_object().cloned().unwrap_or_default() {
                    for (method, operation) in operations.as_object().cloned().unwrap_or_default() {
                        for requirement in operation["security"].as_array().cloned().unwrap_or_default() {
                            for name in requirement.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
                                assert!(
                                    schemes.contains_key(&name),
                                    "{policy}: {method} {template} requires undeclared scheme {name}"
                                );
                            }
                        }
                    }
                }
                let text = document.to_string();
                assert!(!text.contains("__SESSION_NAME__"), "placeholder left in the document");
                let docs = service.get(DOCS).send().await.text();
                assert!(!docs.contains("__SESSION_NAME__"), "placeholder left in Swagger UI");
            }
        }
    }

    /// The document has exactly the operations of the routes table, each
    /// with the statuses it can answer; guarded operations require one of
    /// the security schemes, excluded ones none.
    async fn openapi_document_lists_every_route_with_its_responses(backend: Backend) {
        let service = Service::start(backend, "session_db_auth").await;
        let document = openapi_document(&service).await;
        let schemes: BTreeSet<String> = document["components"]["securitySchemes"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let paths = document["paths"].as_object().cloned().unwrap_or_default();
        let mut documented = BTreeSet::new();
        for (template, operations) in &paths {
            for method in operations.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
                documented.insert((normalise_template(template), method));
            }
        }
        let table = routes_table();
        let expected: BTreeSet<(String, String)> =
            table.iter().map(|(p, m, _, _)| ((*p).to_owned(), (*m).to_owned())).collect();
        assert_eq!(documented, expected, "the document's operations");

        for (path, method, statuses, guarded) in table {
            let (template, operations) = paths
                .iter()
                .find(|(t, _)| normalise_template(t) == path)
                .unwrap_or_else(|| panic!("{path} not documented"));
            let operation = &operations[method];
            let responses = operation["responses"].as_object().cloned().unwrap_or_default();
            for status in statuses {
                assert!(
                    responses.contains_key(status),
                    "{method} {template}: no {status} response documented (has {:?})",
                    responses.keys().collect::<Vec<_>>()
                );
            }
            let security: Vec<String> = operation["security"]
                .as_array()
                .map(|requirements| {
                    requirements
                        .iter()
                        .filter_map(Value::as_object)
                        .flat_map(|o| o.keys().cloned())
                        .collect()
                })
                .unwrap_or_default();
            if guarded {
                let declared: BTreeSet<String> = security.into_iter().collect();
                assert_eq!(declared, schemes, "{method} {template}: security");
            } else {
                assert!(security.is_empty(), "{method} {template} is excluded but declares {security:?}");
            }
        }

        // A user in a response is exactly the public keys.
        let ok = &paths
            .iter()
            .find(|(t, _)| normalise_template(t) == "/api/v1/users/{}")
            .map(|(_, ops)| ops["get"]["responses"]["200"].clone())
            .unwrap_or_default();
        let json_content = ok["content"]
            .as_object()
            .and_then(|c| c.iter().find(|(t, _)| t.starts_with("application/json")))
            .map(|(_, c)| c["schema"].clone())
            .unwrap_or_default();
        let schema = resolve(&document, &json_content);
        let properties: BTreeSet<&str> = schema["properties"]
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(properties, USER_KEYS.into_iter().collect(), "user schema: {schema}");

        // The login takes a form, the user routes JSON.
        let login = &paths["/api/v1/auth_session/login"]["post"]["requestBody"]["content"];
        assert!(login.get("application/x-www-form-urlencoded").is_some(), "login body: {login}");
        let create = &paths["/api/v1/users"]["post"]["requestBody"]["content"];
        let takes_json = create
            .as_object()
            .is_some_and(|c| c.keys().any(|t| t.starts_with("application/json")));
        assert!(takes_json, "create body: {create}");
    }
}
