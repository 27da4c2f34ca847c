//! The assembled endpoint over the memory storage: routing, headers and the
//! body limit, as a client sees them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use poem::http::{Method, StatusCode};
use poem::{Body, Endpoint, Request, Response};

use adapter_memory::{MemoryAttemptLog, MemoryStore};
use domain::{
    Actor, AuthType, Clock, Gate, NoAudit, Password, PasswordHash, PasswordHasher, PasswordRules,
    Ports, Rules, SessionLifetime, SessionRules, SessionToken, ThrottleRules, TokenGenerator,
    UseCases,
};
use domain::{HashError, NewUser};

use crate::{HttpSettings, ServiceEndpoint, Services, endpoint};

/// Compares clear text: Argon2 would make every test slow.
struct PlainHasher;

#[async_trait]
impl PasswordHasher for PlainHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        Ok(PasswordHash::Argon2id(format!(
            "plain:{}",
            password.expose()
        )))
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError> {
        Ok(
            matches!(hash, PasswordHash::Argon2id(h) if *h == format!("plain:{}", password.expose())),
        )
    }

    fn decoy(&self) -> PasswordHash {
        PasswordHash::Argon2id("plain:".into())
    }
}

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
    }
}

#[derive(Default)]
struct CountingTokens(AtomicU8);

impl TokenGenerator for CountingTokens {
    fn generate(&self) -> SessionToken {
        SessionToken::from_random_bytes([self.0.fetch_add(1, Ordering::Relaxed); 32])
    }
}

const EMAIL: &str = "bob@example.com";
const PASSWORD: &str = "old secret";
const COOKIE: &str = "_my_session_id";

struct Server {
    endpoint: ServiceEndpoint,
}

impl Server {
    async fn start(auth_type: AuthType, settings: impl FnOnce(&mut HttpSettings)) -> Self {
        let store = Arc::new(MemoryStore::new());
        let ports = Ports {
            users: store.clone(),
            sessions: store,
            attempts: Arc::new(MemoryAttemptLog::new()),
            hasher: Arc::new(PlainHasher),
            clock: Arc::new(FixedClock),
            tokens: Arc::new(CountingTokens::default()),
            strength: None,
            audit: Arc::new(NoAudit),
        };
        let rules = Rules {
            session_logins: auth_type.uses_sessions(),
            sessions: SessionRules::lifetime(SessionLifetime::Unlimited),
            throttle: ThrottleRules {
                account_max_failures: 100,
                account_window: chrono::Duration::hours(1),
                address_max_failures: 10,
                backoff: chrono::Duration::seconds(60),
            },
            passwords: PasswordRules {
                min_length: 1,
                max_length: 128,
            },
            login_errors: domain::LoginErrors::Compatible,
            access: domain::AccessRules::default(),
        };
        let (use_cases, auth) = UseCases::wire(&ports, &rules);
        let new = NewUser::parse(Some(EMAIL.into()), Some(PASSWORD.into()), None, None).unwrap();
        use_cases
            .users
            .create_user(&Actor::operator(), new)
            .await
            .unwrap();
        let services = Services {
            gate: Gate::new(auth_type.policy(auth)),
            use_cases,
        };
        let mut http = HttpSettings {
            session_name: COOKIE.into(),
            cookie_secure: false,
            body_limit: 1024,
            request_timeout: std::time::Duration::from_secs(15),
            trust_forwarded_for: false,
        };
        settings(&mut http);
        Self {
            endpoint: endpoint(services, http),
        }
    }

    async fn send(&self, req: Request) -> Response {
        self.endpoint.call(req).await.unwrap()
    }

    /// Logs in and returns the session token.
    async fn login(&self, user_agent: &str) -> String {
        let response = self
            .send(
                Request::builder()
                    .method(Method::POST)
                    .uri_str("/api/v1/auth_session/login")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("user-agent", user_agent)
                    .header("x-forwarded-for", "203.0.113.9, 10.0.0.1")
                    .body(format!("email={EMAIL}&password=old%20secret")),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = header(&response, "set-cookie").unwrap();
        let pair = cookie.split(';').next().unwrap();
        pair.strip_prefix(&format!("{COOKIE}=")).unwrap().to_owned()
    }
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn json(response: Response) -> serde_json::Value {
    serde_json::from_slice(&response.into_body().into_bytes().await.unwrap()).unwrap()
}

fn with_cookie(method: Method, uri: &str, token: &str) -> poem::RequestBuilder {
    Request::builder()
        .method(method)
        .uri_str(uri)
        .header("cookie", format!("{COOKIE}={token}"))
}

/// `Authorization` for [`EMAIL`] with the old or the new password.
fn basic(password: &str) -> &'static str {
    if password == PASSWORD {
        "Basic Ym9iQGV4YW1wbGUuY29tOm9sZCBzZWNyZXQ="
    } else {
        "Basic Ym9iQGV4YW1wbGUuY29tOm5ldyBzZWNyZXQ="
    }
}

#[tokio::test]
async fn sessions_list_the_trusted_forwarded_address_the_agent_and_which_is_current() {
    let server = Server::start(AuthType::SessionAuth, |s| s.trust_forwarded_for = true).await;
    let first = server.login("first-agent").await;
    let second = server.login("second-agent").await;
    let response = server
        .send(with_cookie(Method::GET, "/api/v1/auth_session/sessions", &second).finish())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let sessions = json(response).await;
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let current: Vec<_> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["user_agent"], "second-agent");
    assert_eq!(current[0]["client_address"], "203.0.113.9");
    assert_eq!(current[0]["created_at"], "2024-05-01T12:00:00");
    assert_eq!(current[0]["last_used_at"], "2024-05-01T12:00:00");
    let text = serde_json::to_string(sessions).unwrap();
    assert!(!text.contains(&first) && !text.contains(&second));
}

#[tokio::test]
async fn forwarded_for_is_ignored_unless_trusted() {
    let server = Server::start(AuthType::SessionAuth, |_| {}).await;
    let token = server.login("agent").await;
    let sessions = json(
        server
            .send(with_cookie(Method::GET, "/api/v1/auth_session/sessions/", &token).finish())
            .await,
    )
    .await;
    assert_eq!(sessions[0]["client_address"], serde_json::Value::Null);
}

#[tokio::test]
async fn ending_all_but_the_current_session_keeps_its_cookie() {
    let server = Server::start(AuthType::SessionAuth, |_| {}).await;
    let _other = server.login("a").await;
    let mine = server.login("b").await;
    let response = server
        .send(
            with_cookie(
                Method::DELETE,
                "/api/v1/auth_session/sessions?keep_current=true",
                &mine,
            )
            .finish(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "set-cookie"), None);
    assert_eq!(json(response).await, serde_json::json!({"ended": 1}));
    let response = server
        .send(with_cookie(Method::DELETE, "/api/v1/auth_session/sessions", &mine).finish())
        .await;
    assert!(
        header(&response, "set-cookie")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(json(response).await, serde_json::json!({"ended": 1}));
}

#[tokio::test]
async fn ending_one_session_by_handle_expires_the_cookie_only_when_it_is_the_current() {
    let server = Server::start(AuthType::SessionAuth, |_| {}).await;
    let other = server.login("other").await;
    let mine = server.login("mine").await;
    let sessions = json(
        server
            .send(with_cookie(Method::GET, "/api/v1/auth_session/sessions", &mine).finish())
            .await,
    )
    .await;
    let handle_of = |current: bool| {
        sessions
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["current"] == current)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (other_handle, my_handle) = (handle_of(false), handle_of(true));
    let uri = format!("/api/v1/auth_session/sessions/{other_handle}");
    let response = server
        .send(with_cookie(Method::DELETE, &uri, &mine).finish())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "set-cookie"), None);
    let response = server
        .send(with_cookie(Method::DELETE, &uri, &mine).finish())
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        json(response).await,
        serde_json::json!({"error": "Not found"})
    );
    let uri = format!("/api/v1/auth_session/sessions/{my_handle}");
    let response = server
        .send(with_cookie(Method::DELETE, &uri, &mine).finish())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        header(&response, "set-cookie")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(json(response).await, serde_json::json!({}));
    let response = server
        .send(with_cookie(Method::GET, "/api/v1/users/me", &other).finish())
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn session_routes_are_absent_under_basic_auth() {
    let server = Server::start(AuthType::BasicAuth, |_| {}).await;
    let response = server
        .send(
            Request::builder()
                .uri_str("/api/v1/auth_session/sessions")
                .header("authorization", basic(PASSWORD))
                .finish(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn password_change_is_its_own_route_not_an_update_of_user_me() {
    let server = Server::start(AuthType::BasicAuth, |_| {}).await;
    let change = |current: &str, new: &str| {
        Request::builder()
            .method(Method::PUT)
            .uri_str("/api/v1/users/me/password/")
            .header("authorization", basic(PASSWORD))
            .content_type("application/json")
            .body(serde_json::json!({"current_password": current, "new_password": new}).to_string())
    };
    let response = server.send(change("wrong", "new secret")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&response, "www-authenticate").as_deref(),
        Some("Basic realm=\"session-auth\"")
    );
    assert_eq!(
        json(response).await,
        serde_json::json!({"error": "wrong password"})
    );
    let response = server.send(change(PASSWORD, &"x".repeat(129))).await;
    assert_eq!(
        json(response).await,
        serde_json::json!({"error": "new_password: password must be at most 128 characters"})
    );
    let response = server.send(change(PASSWORD, "new secret")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await["email"], EMAIL);
    let response = server
        .send(
            Request::builder()
                .uri_str("/api/v1/users/me")
                .header("authorization", basic("new secret"))
                .finish(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn password_change_without_a_current_user_is_404_and_bad_json_is_wrong_format() {
    let server = Server::start(AuthType::None, |_| {}).await;
    let response = server
        .send(
            Request::builder()
                .method(Method::PUT)
                .uri_str("/api/v1/users/me/password")
                .content_type("application/json")
                .body("{}"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let server = Server::start(AuthType::SessionAuth, |_| {}).await;
    let token = server.login("agent").await;
    let response = server
        .send(
            with_cookie(Method::PUT, "/api/v1/users/me/password", &token)
                .content_type("application/json")
                .body("not json"),
        )
        .await;
    assert_eq!(
        json(response).await,
        serde_json::json!({"error": "Wrong format"})
    );
}

#[tokio::test]
async fn a_401_invites_basic_credentials_only_under_basic_auth() {
    let basic_server = Server::start(AuthType::BasicAuth, |_| {}).await;
    let response = basic_server
        .send(Request::builder().uri_str("/api/v1/users").finish())
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&response, "www-authenticate").is_some());
    let session_server = Server::start(AuthType::SessionAuth, |_| {}).await;
    let response = session_server
        .send(Request::builder().uri_str("/api/v1/users").finish())
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&response, "www-authenticate"), None);
}

#[tokio::test]
async fn api_responses_are_not_stored_by_caches() {
    let server = Server::start(AuthType::SessionAuth, |_| {}).await;
    for uri in ["/api/v1/status", "/api/v1/users", "/api/v1/nowhere"] {
        let response = server.send(Request::builder().uri_str(uri).finish()).await;
        assert_eq!(
            header(&response, "cache-control").as_deref(),
            Some("no-store"),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_413_before_the_gate() {
    let server = Server::start(AuthType::SessionAuth, |s| s.body_limit = 64).await;
    let response = server
        .send(
            Request::builder()
                .method(Method::POST)
                .uri_str("/api/v1/users")
                .content_type("application/json")
                .header("content-length", "65")
                .body(vec![b' '; 65]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        json(response).await,
        serde_json::json!({"error": "Payload too large"})
    );
}

fn chunked(bytes: Vec<u8>) -> Body {
    // A reader has no length, as a chunked request body.
    Body::from_async_read(std::io::Cursor::new(bytes))
}

#[tokio::test]
async fn a_body_without_a_length_is_read_up_to_the_limit_and_handed_on() {
    let server = Server::start(AuthType::SessionAuth, |s| s.body_limit = 64).await;
    let login = |body: Vec<u8>| {
        Request::builder()
            .method(Method::POST)
            .uri_str("/api/v1/auth_session/login")
            .content_type("application/x-www-form-urlencoded")
            .body(chunked(body))
    };
    let fits = format!("email={EMAIL}&password=old%20secret&pad=");
    let fits = format!("{fits}{}", "x".repeat(64 - fits.len()));
    let response = server.send(login(fits.clone().into_bytes())).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = server.send(login(format!("{fits}x").into_bytes())).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_document_declares_the_new_operations_and_429() {
    let server = Server::start(AuthType::SessionAuth, |_| {}).await;
    let doc = json(
        server
            .send(Request::builder().uri_str("/api/v1/openapi.json").finish())
            .await,
    )
    .await;
    let paths = &doc["paths"];
    assert!(paths["/api/v1/auth_session/sessions"]["get"].is_object());
    assert!(paths["/api/v1/auth_session/sessions"]["delete"]["responses"]["429"].is_object());
    assert!(paths["/api/v1/auth_session/sessions/{handle}"]["delete"].is_object());
    assert!(paths["/api/v1/users/me/password"]["put"]["responses"]["429"].is_object());
    assert!(
        paths["/api/v1/auth_session/login"]["post"]["responses"]["429"]["headers"]["RETRY-AFTER"]
            .is_object()
    );
    // Under a session policy the guarded operations require the cookie
    // scheme, the only one declared (issue 11: only the scheme that works
    // from a browser for the active AUTH_TYPE).
    let security = &paths["/api/v1/auth_session/sessions"]["get"]["security"];
    assert_eq!(security, &serde_json::json!([{ "session_cookie": [] }]));
    let schemes: Vec<&String> = doc["components"]["securitySchemes"]
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(schemes, ["session_cookie"]);
}

#[tokio::test]
async fn the_document_declares_basic_only_under_basic_auth_and_nothing_without_a_user() {
    for (auth_type, expected) in [
        (AuthType::BasicAuth, Some("basic_auth")),
        (AuthType::Auth, None),
        (AuthType::None, None),
    ] {
        let server = Server::start(auth_type, |_| {}).await;
        let doc = json(
            server
                .send(Request::builder().uri_str("/api/v1/openapi.json").finish())
                .await,
        )
        .await;
        let schemes: Vec<&String> = doc["components"]["securitySchemes"]
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        let security = &doc["paths"]["/api/v1/users"]["get"]["security"];
        match expected {
            Some(name) => {
                assert_eq!(schemes, [name], "{auth_type:?}");
                assert_eq!(
                    security,
                    &serde_json::json!([{ name: [] }]),
                    "{auth_type:?}"
                );
            }
            None => {
                assert!(schemes.is_empty(), "{auth_type:?}: {schemes:?}");
                assert!(security.is_null(), "{auth_type:?}: {security}");
            }
        }
    }
}

#[tokio::test]
async fn throttled_basic_credentials_are_429_with_retry_after() {
    let server = Server::start(AuthType::BasicAuth, |_| {}).await;
    let mut last = None;
    for _ in 0..=10 {
        last = Some(
            server
                .send(
                    Request::builder()
                        .uri_str("/api/v1/users")
                        .header("authorization", basic("new secret"))
                        .finish(),
                )
                .await,
        );
    }
    let response = last.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = header(&response, "retry-after").unwrap().parse().unwrap();
    assert!(wait >= 1);
    assert_eq!(
        json(response).await,
        serde_json::json!({"error": "Too many attempts"})
    );
}

#[tokio::test]
async fn throttled_logins_are_429_with_retry_after() {
    let server = Server::start(AuthType::SessionAuth, |_| {}).await;
    let wrong_login = || {
        Request::builder()
            .method(Method::POST)
            .uri_str("/api/v1/auth_session/login")
            .content_type("application/x-www-form-urlencoded")
            .body(format!("email={EMAIL}&password=wrong"))
    };
    let mut last = None;
    for _ in 0..=10 {
        last = Some(server.send(wrong_login()).await);
    }
    let response = last.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(header(&response, "retry-after").is_some());
}

#[tokio::test]
async fn every_operation_has_an_id_a_description_and_its_own_errors() {
    let server = Server::start(AuthType::SessionDbAuth, |_| {}).await;
    let doc = json(
        server
            .send(Request::builder().uri_str("/api/v1/openapi.json").finish())
            .await,
    )
    .await;
    let mut ids = std::collections::BTreeSet::new();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, op) in operations.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(!id.is_empty(), "{method} {path}: no operationId");
            assert!(ids.insert(id.to_owned()), "{id} used twice");
            assert!(
                op["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{method} {path}: no description"
            );
            assert!(
                !op["summary"].as_str().unwrap_or_default().contains('`'),
                "{method} {path}: raw backticks in the summary"
            );
            for (status, response) in op["responses"].as_object().unwrap() {
                if let Some(content) = response["content"].as_object() {
                    assert!(
                        content.keys().all(|t| t == "application/json"),
                        "{method} {path} {status}: {content:?}"
                    );
                }
            }
        }
    }
    let status = &doc["paths"]["/api/v1/status"]["get"]["responses"];
    assert_eq!(
        status
            .as_object()
            .map(|r| r.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["200".to_owned()]),
        "/status answers only 200"
    );
    let login = &doc["components"]["schemas"]["LoginForm"];
    assert_eq!(login["required"], serde_json::json!(["email", "password"]));
    assert_eq!(login["properties"]["password"]["format"], "password");
    let user = &doc["components"]["schemas"]["UserBody"];
    assert_eq!(user["properties"]["first_name"]["nullable"], true);
    assert!(
        !doc.to_string().contains("No `Debug`"),
        "internal notes in the document"
    );
}

/// Swagger UI offers nothing to paste a session cookie into (a page cannot
/// send a `Cookie` header, so it would show "Authorized" and get 401) and
/// says to run Log in instead; the served document keeps the cookie scheme
/// for other clients. `GET /users/me` is documented as its own operation.
#[tokio::test]
async fn swagger_ui_offers_no_cookie_to_paste_and_documents_users_me() {
    let server = Server::start(AuthType::SessionDbAuth, |_| {}).await;
    let page = server
        .send(Request::builder().uri_str("/api/v1/docs").finish())
        .await
        .into_body()
        .into_string()
        .await
        .unwrap();
    assert!(
        !page.contains("\"session_cookie\""),
        "the page names the cookie scheme"
    );
    assert!(page.contains("Needs a session"));
    assert!(page.contains("/api/v1/users/me\""));

    let doc = json(
        server
            .send(Request::builder().uri_str("/api/v1/openapi.json").finish())
            .await,
    )
    .await;
    assert!(doc["components"]["securitySchemes"]["session_cookie"].is_object());
    let me = &doc["paths"]["/api/v1/users/me"]["get"];
    assert_eq!(me["operationId"], "getCurrentUser");
    assert!(me.get("parameters").is_none(), "{me}");
    assert_eq!(
        me["responses"]["200"]["content"]["application/json"]["example"]["email"],
        "bob@example.com"
    );
    assert_eq!(
        me["security"],
        serde_json::json!([{ "session_cookie": [] }])
    );
}
