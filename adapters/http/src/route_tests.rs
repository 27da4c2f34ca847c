//! The routes over a stub of the core: no storage, no hashing. Each test
//! sets what a use case answers and checks what the route makes of it
//! (status, body, cookie) and what it hands the use case (the actor, the
//! request's own session).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::DateTime;
use poem::http::{Method, StatusCode};
use poem::{Endpoint, Request, Response};

use domain::{
    AccessError, AccessRules, Actor, Administration, AuthPolicy, ChangePasswordError, ClientInfo,
    CreateUserError, DeleteUserError, Email, Failure, Gate, Housekeeping, Identity, LoginError,
    NewUser, Password, PasswordChange, PasswordHash, PasswordManagement, Presented, Session,
    SessionError, SessionId, SessionLifetime, SessionManagement, SessionToken, SetAdminError,
    SetPasswordError, SignIn, SignedIn, UpdateUserError, UseCases, User, UserChange, UserId,
    UserManagement,
};

use crate::{HttpSettings, Services, endpoint};

const COOKIE: &str = "sid";

fn bob() -> User {
    let at = DateTime::UNIX_EPOCH;
    User {
        id: UserId::generate(),
        email: Email::parse("bob@example.com").unwrap(),
        password_hash: PasswordHash::Unusable,
        first_name: None,
        last_name: None,
        created_at: at,
        updated_at: at,
        is_admin: false,
    }
}

fn session_of(user: &User) -> Session {
    let at = DateTime::UNIX_EPOCH;
    Session {
        id: SessionId::generate(),
        key: SessionToken::from_random_bytes([7; 32]).key(),
        user_id: user.id,
        created_at: at,
        updated_at: at,
        last_used_at: at,
        client_address: None,
        user_agent: None,
    }
}

fn unexpected() -> Failure {
    Failure::Unexpected("not part of this stub".into())
}

/// Answers what a test told it to, and keeps the actors it was called for.
struct Stub {
    user: User,
    login: Mutex<Option<Result<SignedIn, LoginError>>>,
    actors: Mutex<Vec<Actor>>,
    /// `user` never answers, as over a database link gone silent.
    stalls: bool,
}

impl Stub {
    fn saw(&self, actor: &Actor) {
        self.actors.lock().unwrap().push(actor.clone());
    }
}

#[async_trait]
impl SignIn for Stub {
    async fn login(
        &self,
        actor: &Actor,
        _: Option<&str>,
        _: Option<&str>,
    ) -> Result<SignedIn, LoginError> {
        self.saw(actor);
        self.login
            .lock()
            .unwrap()
            .take()
            .unwrap_or(Err(LoginError::NoSessions))
    }
    fn session_lifetime(&self) -> SessionLifetime {
        SessionLifetime::from_seconds(60)
    }
    fn opens_sessions(&self) -> bool {
        true
    }
}

#[async_trait]
impl SessionManagement for Stub {
    async fn logout(&self, actor: &Actor) -> Result<(), SessionError> {
        self.saw(actor);
        actor.session().map(|_| ()).ok_or(SessionError::NotFound)
    }
    async fn sessions(&self, actor: &Actor, _: &UserId) -> Result<Vec<Session>, SessionError> {
        self.saw(actor);
        Ok(actor.session().cloned().into_iter().collect())
    }
    async fn end_sessions(
        &self,
        actor: &Actor,
        _: &UserId,
        keep: bool,
    ) -> Result<u64, SessionError> {
        self.saw(actor);
        Ok(if keep { 2 } else { 3 })
    }
    async fn end_session(
        &self,
        _: &Actor,
        _: &UserId,
        _: SessionId,
    ) -> Result<Session, SessionError> {
        Err(SessionError::NotFound)
    }
}

#[async_trait]
impl PasswordManagement for Stub {
    async fn change_password(
        &self,
        _: &Actor,
        _: PasswordChange,
    ) -> Result<User, ChangePasswordError> {
        Err(ChangePasswordError::WrongPassword)
    }
    async fn set_password(
        &self,
        _: &Actor,
        _: &UserId,
        _: &Password,
    ) -> Result<(User, u64), SetPasswordError> {
        Err(SetPasswordError::Forbidden)
    }
}

#[async_trait]
impl UserManagement for Stub {
    async fn list_users(&self, actor: &Actor) -> Result<Vec<User>, Failure> {
        self.saw(actor);
        Ok(vec![self.user.clone()])
    }
    async fn count_users(&self, _: &Actor) -> Result<u64, AccessError> {
        Err(AccessError::Forbidden)
    }
    async fn user(&self, _: &Actor, _: &UserId) -> Result<Option<User>, Failure> {
        if self.stalls {
            std::future::pending::<()>().await;
        }
        Ok(None)
    }
    async fn find_user(&self, _: &Actor, _: &str) -> Result<Option<User>, Failure> {
        Err(unexpected())
    }
    async fn create_user(&self, _: &Actor, _: NewUser) -> Result<User, CreateUserError> {
        Err(CreateUserError::Failure(Failure::Unavailable(
            "down".into(),
        )))
    }
    async fn update_user(
        &self,
        _: &Actor,
        _: &UserId,
        _: &UserChange,
    ) -> Result<User, UpdateUserError> {
        Err(UpdateUserError::NotFound)
    }
    async fn delete_user(&self, _: &Actor, _: &UserId) -> Result<(), DeleteUserError> {
        Err(DeleteUserError::LastAdmin)
    }
    fn access(&self) -> AccessRules {
        AccessRules::default()
    }
}

#[async_trait]
impl Administration for Stub {
    async fn set_admin(&self, _: &Actor, _: &UserId, _: bool) -> Result<User, SetAdminError> {
        Err(SetAdminError::Forbidden)
    }
    async fn has_admin(&self, _: &Actor) -> Result<bool, Failure> {
        Err(unexpected())
    }
}

#[async_trait]
impl Housekeeping for Stub {
    async fn ping(&self) -> Result<(), Failure> {
        Ok(())
    }
    async fn user_count(&self) -> Result<u64, Failure> {
        Ok(1)
    }
    async fn live_sessions(&self) -> Result<Option<u64>, Failure> {
        Ok(None)
    }
    async fn prune_expired(&self) -> Result<u64, Failure> {
        Ok(0)
    }
}

/// The stub's user, signed in with a session, for any cookie.
struct AnyCookie(User);

#[async_trait]
impl AuthPolicy for AnyCookie {
    async fn identify(
        &self,
        presented: &Presented<'_>,
        _: &ClientInfo,
    ) -> Result<Identity, Failure> {
        Ok(match presented.session_token {
            Some(_) => Identity::User {
                user: self.0.clone(),
                session: Some(session_of(&self.0)),
            },
            None => Identity::Nobody,
        })
    }
}

fn served(stub: &Arc<Stub>) -> crate::ServiceEndpoint {
    served_within(stub, std::time::Duration::from_secs(15))
}

fn served_within(stub: &Arc<Stub>, request_timeout: std::time::Duration) -> crate::ServiceEndpoint {
    let use_cases = UseCases {
        sign_in: stub.clone(),
        sessions: stub.clone(),
        passwords: stub.clone(),
        users: stub.clone(),
        admin: stub.clone(),
        housekeeping: stub.clone(),
        recovery: Arc::new(domain::service::RecoveryOff),
    };
    let gate = Gate::new(Some(Arc::new(AnyCookie(stub.user.clone()))));
    endpoint(
        Services { gate, use_cases },
        HttpSettings {
            session_name: COOKIE.into(),
            cookie_secure: true,
            body_limit: 1024,
            request_timeout,
            trust_forwarded_for: false,
        },
    )
}

fn stub() -> Arc<Stub> {
    Arc::new(Stub {
        user: bob(),
        login: Mutex::new(None),
        actors: Mutex::new(Vec::new()),
        stalls: false,
    })
}

async fn body(response: Response) -> serde_json::Value {
    serde_json::from_slice(&response.into_body().into_bytes().await.unwrap()).unwrap()
}

fn request(method: Method, uri: &str) -> poem::RequestBuilder {
    Request::builder()
        .method(method)
        .uri_str(uri)
        .header("x-request-id", "req-42")
}

/// A login form, as a client posts it.
fn login_form() -> Request {
    request(Method::POST, "/api/v1/auth_session/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=bob%40example.com&password=x")
}

#[tokio::test]
async fn a_login_sets_the_cookie_of_the_token_the_core_made() {
    let stub = stub();
    let token = SessionToken::from_random_bytes([9; 32]);
    *stub.login.lock().unwrap() = Some(Ok(SignedIn {
        user: stub.user.clone(),
        token: token.clone(),
    }));
    let server = served(&stub);
    let response = server.call(login_form()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with(&format!("{COOKIE}={}", token.expose())),
        "{cookie}"
    );
    assert!(
        cookie.contains("Max-Age=60") && cookie.contains("Secure"),
        "{cookie}"
    );
    assert_eq!(body(response).await["email"], "bob@example.com");
    // The route handed the core an anonymous actor carrying the request id.
    let actors = stub.actors.lock().unwrap();
    assert_eq!(actors[0].label().to_string(), "anonymous");
    assert_eq!(actors[0].request_id(), Some("req-42"));
}

#[tokio::test]
async fn the_cores_refusals_become_the_contracts_answers() {
    let stub = stub();
    *stub.login.lock().unwrap() = Some(Err(LoginError::WrongPassword));
    let server = served(&stub);
    let refused = server.call(login_form()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        body(refused).await,
        serde_json::json!({"error": "wrong password"})
    );
    let cookie = format!("{COOKIE}=anything");
    let stats = server
        .call(
            request(Method::GET, "/api/v1/stats")
                .header("cookie", &cookie)
                .finish(),
        )
        .await
        .unwrap();
    assert_eq!(stats.status(), StatusCode::FORBIDDEN);
    let create = server
        .call(
            request(Method::POST, "/api/v1/users")
                .header("cookie", &cookie)
                .header("content-type", "application/json")
                .body(r#"{"email": "a@b.io", "password": "pw"}"#),
        )
        .await
        .unwrap();
    assert_eq!(create.status(), StatusCode::SERVICE_UNAVAILABLE);
    let id = UserId::generate();
    let delete = server
        .call(
            request(Method::DELETE, &format!("/api/v1/users/{id}"))
                .header("cookie", &cookie)
                .finish(),
        )
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn session_routes_hand_the_core_the_signed_in_actor_and_its_session() {
    let stub = stub();
    let server = served(&stub);
    let cookie = format!("{COOKIE}=anything");
    let listed = server
        .call(
            request(Method::GET, "/api/v1/auth_session/sessions")
                .header("cookie", &cookie)
                .finish(),
        )
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let listed = body(listed).await;
    assert_eq!(listed[0]["current"], true, "{listed}");
    let kept = server
        .call(
            request(
                Method::DELETE,
                "/api/v1/auth_session/sessions?keep_current=true",
            )
            .header("cookie", &cookie)
            .finish(),
        )
        .await
        .unwrap();
    assert_eq!(kept.status(), StatusCode::OK);
    assert!(kept.headers().get("set-cookie").is_none());
    assert_eq!(body(kept).await, serde_json::json!({"ended": 2}));
    let all = server
        .call(
            request(Method::DELETE, "/api/v1/auth_session/sessions")
                .header("cookie", &cookie)
                .finish(),
        )
        .await
        .unwrap();
    let expired = all.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(expired.contains("Max-Age=0"), "{expired}");
    let actors = stub.actors.lock().unwrap();
    let me = format!("user:{}", stub.user.id);
    assert!(actors.iter().all(|actor| actor.label().to_string() == me));
    assert!(actors.iter().all(|actor| actor.session().is_some()));
}

#[tokio::test]
async fn a_request_the_core_never_answers_is_503_at_the_request_timeout() {
    let stub = Arc::new(Stub {
        stalls: true,
        ..Arc::into_inner(stub()).unwrap()
    });
    let served = served_within(&stub, std::time::Duration::from_millis(200));
    let started = std::time::Instant::now();
    let response = served
        .call(
            request(
                Method::GET,
                &format!("/api/v1/users/{}", UserId::generate()),
            )
            .header("cookie", format!("{COOKIE}=any"))
            .finish(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response.headers().get("x-request-id").unwrap(),
        "req-42",
        "the timed-out answer keeps the request id"
    );
    assert_eq!(
        body(response).await,
        serde_json::json!({"error": "Service unavailable"})
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
