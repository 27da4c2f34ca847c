//! Use-case and policy tests over small in-test fakes of the ports.

use super::*;
use crate::gate::{ExcludedPaths, Gate, GateDecision};
use crate::password::PasswordHash;
use crate::policy::{AuthType, Credentials};
use async_trait::async_trait;
use base64::Engine as _;
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
struct FakeStore {
    users: Mutex<Vec<User>>,
    sessions: Mutex<HashMap<crate::session::SessionKey, Session>>,
}

#[async_trait]
impl UserRepository for FakeStore {
    async fn insert(&self, user: &User) -> Result<(), RepositoryError> {
        let mut users = self.users.lock().unwrap();
        if users.iter().any(|u| u.email == user.email) {
            return Err(RepositoryError::DuplicateEmail);
        }
        users.push(user.clone());
        Ok(())
    }
    async fn get(&self, id: &UserId) -> Result<Option<User>, RepositoryError> {
        Ok(self
            .users
            .lock()
            .unwrap()
            .iter()
            .find(|u| u.id == *id)
            .cloned())
    }
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError> {
        Ok(self
            .users
            .lock()
            .unwrap()
            .iter()
            .find(|u| u.email == *email)
            .cloned())
    }
    async fn list(&self) -> Result<Vec<User>, RepositoryError> {
        Ok(self.users.lock().unwrap().clone())
    }
    async fn count(&self) -> Result<u64, RepositoryError> {
        Ok(self.users.lock().unwrap().len() as u64)
    }
    async fn update(&self, user: &User) -> Result<bool, RepositoryError> {
        let mut users = self.users.lock().unwrap();
        match users.iter_mut().find(|u| u.id == user.id) {
            Some(slot) => {
                *slot = user.clone();
                Ok(true)
            }
            None => Ok(false),
        }
    }
    async fn delete(&self, id: &UserId) -> Result<bool, RepositoryError> {
        let mut users = self.users.lock().unwrap();
        let before = users.len();
        users.retain(|u| u.id != *id);
        self.sessions
            .lock()
            .unwrap()
            .retain(|_, s| s.user_id != *id);
        Ok(users.len() != before)
    }
}

#[async_trait]
impl SessionRepository for FakeStore {
    async fn insert(&self, session: &Session) -> Result<(), RepositoryError> {
        self.sessions
            .lock()
            .unwrap()
            .insert(session.key.clone(), session.clone());
        Ok(())
    }
    async fn find(
        &self,
        key: &crate::session::SessionKey,
    ) -> Result<Option<Session>, RepositoryError> {
        Ok(self.sessions.lock().unwrap().get(key).cloned())
    }
    async fn delete(&self, key: &crate::session::SessionKey) -> Result<bool, RepositoryError> {
        Ok(self.sessions.lock().unwrap().remove(key).is_some())
    }
    async fn delete_by_user(&self, user_id: &UserId) -> Result<u64, RepositoryError> {
        let mut sessions = self.sessions.lock().unwrap();
        let before = sessions.len();
        sessions.retain(|_, s| s.user_id != *user_id);
        Ok((before - sessions.len()) as u64)
    }
    async fn delete_created_before(&self, cutoff: DateTime<Utc>) -> Result<u64, RepositoryError> {
        let mut sessions = self.sessions.lock().unwrap();
        let before = sessions.len();
        sessions.retain(|_, s| s.created_at >= cutoff);
        Ok((before - sessions.len()) as u64)
    }
}

/// Marks its hashes so a test can tell an upgraded one; verifies both kinds.
struct FakeHasher;

#[async_trait]
impl PasswordHasher for FakeHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        Ok(PasswordHash::Argon2id(format!(
            "$argon2id$fake${}",
            password.expose()
        )))
    }
    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError> {
        Ok(match hash {
            PasswordHash::Argon2id(s) => *s == format!("$argon2id$fake${}", password.expose()),
            legacy @ PasswordHash::LegacySha256(_) => {
                legacy.verify_legacy(password).unwrap_or(false)
            }
            PasswordHash::Unusable => false,
        })
    }
}

struct FakeClock(Mutex<DateTime<Utc>>);

impl FakeClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

struct CountingTokens(Mutex<u8>);

impl TokenGenerator for CountingTokens {
    fn generate(&self) -> SessionToken {
        let mut n = self.0.lock().unwrap();
        *n += 1;
        SessionToken::from_random_bytes([*n; 32])
    }
}

struct World {
    store: Arc<FakeStore>,
    clock: Arc<FakeClock>,
    auth: Arc<AuthService>,
    users: UserService,
}

fn world(lifetime: SessionLifetime) -> World {
    let store = Arc::new(FakeStore::default());
    let clock = Arc::new(FakeClock(Mutex::new(
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap(),
    )));
    let auth = Arc::new(AuthService::new(
        store.clone(),
        store.clone(),
        Arc::new(FakeHasher),
        clock.clone(),
        Arc::new(CountingTokens(Mutex::new(0))),
        lifetime,
    ));
    let users = UserService::new(
        store.clone(),
        store.clone(),
        Arc::new(FakeHasher),
        clock.clone(),
    );
    World {
        store,
        clock,
        auth,
        users,
    }
}

async fn bob(w: &World) -> User {
    w.users
        .create(NewUser {
            email: Some("bob@hbtn.io".into()),
            password: Password::parse("H0lberton:School"),
            ..NewUser::default()
        })
        .await
        .unwrap()
}

fn basic(raw: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn gate(w: &World, auth_type: AuthType) -> Gate {
    Gate::new(ExcludedPaths::standard(), auth_type.policy(w.auth.clone()))
}

fn passed_user(decision: GateDecision) -> Option<User> {
    match decision {
        GateDecision::Pass(user) => user,
        other => panic!("expected the gate to pass, got {other:?}"),
    }
}

#[tokio::test]
async fn basic_auth_policy_resolves_the_user_with_the_right_password_only() {
    let w = world(SessionLifetime::Unlimited);
    let bob = bob(&w).await;
    let gate = gate(&w, AuthType::BasicAuth);
    let good = basic("bob@hbtn.io:H0lberton:School");
    let creds = Credentials {
        authorization: Some(&good),
        session_cookie: None,
    };
    assert_eq!(
        passed_user(gate.check("/api/v1/users", &creds).await.unwrap()),
        Some(bob)
    );

    let bad = basic("bob@hbtn.io:wrong");
    let creds = Credentials {
        authorization: Some(&bad),
        session_cookie: None,
    };
    assert!(matches!(
        gate.check("/api/v1/users", &creds).await.unwrap(),
        GateDecision::Forbidden
    ));
}

#[tokio::test]
async fn gate_without_credentials_is_unauthorized_and_excluded_paths_pass() {
    let w = world(SessionLifetime::Unlimited);
    let gate = gate(&w, AuthType::SessionAuth);
    let none = Credentials::default();
    assert!(matches!(
        gate.check("/api/v1/users", &none).await.unwrap(),
        GateDecision::Unauthorized
    ));
    assert!(matches!(
        gate.check("/nowhere", &none).await.unwrap(),
        GateDecision::Unauthorized
    ));
    assert!(passed_user(gate.check("/api/v1/status", &none).await.unwrap()).is_none());
}

#[tokio::test]
async fn auth_policy_never_resolves_anyone() {
    let w = world(SessionLifetime::Unlimited);
    bob(&w).await;
    let (_, token) = w
        .auth
        .login(Some("bob@hbtn.io"), Some("H0lberton:School"))
        .await
        .unwrap();
    let gate = gate(&w, AuthType::Auth);
    let good = basic("bob@hbtn.io:H0lberton:School");
    let creds = Credentials {
        authorization: Some(&good),
        session_cookie: Some(token.expose()),
    };
    assert!(matches!(
        gate.check("/api/v1/users", &creds).await.unwrap(),
        GateDecision::Forbidden
    ));
}

#[tokio::test]
async fn none_policy_lets_everything_through_without_a_user() {
    let w = world(SessionLifetime::Unlimited);
    let gate = gate(&w, AuthType::None);
    assert!(
        passed_user(
            gate.check("/api/v1/users", &Credentials::default())
                .await
                .unwrap()
        )
        .is_none()
    );
}

#[tokio::test]
async fn session_policy_resolves_the_cookie_and_ignores_basic_credentials() {
    let w = world(SessionLifetime::Unlimited);
    let bob = bob(&w).await;
    let (_, token) = w
        .auth
        .login(Some("bob@hbtn.io"), Some("H0lberton:School"))
        .await
        .unwrap();
    let gate = gate(&w, AuthType::SessionDbAuth);
    let creds = Credentials {
        authorization: None,
        session_cookie: Some(token.expose()),
    };
    assert_eq!(
        passed_user(gate.check("/api/v1/users/me", &creds).await.unwrap()),
        Some(bob)
    );

    let good = basic("bob@hbtn.io:H0lberton:School");
    let only_basic = Credentials {
        authorization: Some(&good),
        session_cookie: None,
    };
    assert!(matches!(
        gate.check("/api/v1/users", &only_basic).await.unwrap(),
        GateDecision::Forbidden
    ));

    let unknown = Credentials {
        authorization: None,
        session_cookie: Some("not-a-session"),
    };
    assert!(matches!(
        gate.check("/api/v1/users", &unknown).await.unwrap(),
        GateDecision::Forbidden
    ));
}

#[tokio::test]
async fn session_resolves_at_the_exact_expiry_instant_and_not_one_second_later() {
    let w = world(SessionLifetime::from_seconds(60));
    bob(&w).await;
    let (_, token) = w
        .auth
        .login(Some("bob@hbtn.io"), Some("H0lberton:School"))
        .await
        .unwrap();
    w.clock.advance(Duration::seconds(60));
    assert!(w.auth.user_for_token(&token).await.unwrap().is_some());
    w.clock.advance(Duration::seconds(1));
    assert!(w.auth.user_for_token(&token).await.unwrap().is_none());
    assert!(
        !w.auth.logout(&token).await.unwrap(),
        "an expired session cannot be logged out"
    );
}

#[tokio::test]
async fn login_stores_only_the_digest_of_the_token() {
    let w = world(SessionLifetime::Unlimited);
    bob(&w).await;
    let (_, token) = w
        .auth
        .login(Some("bob@hbtn.io"), Some("H0lberton:School"))
        .await
        .unwrap();
    let sessions = w.store.sessions.lock().unwrap();
    let stored = sessions.values().next().unwrap();
    assert_eq!(stored.key, token.key());
    assert_ne!(stored.key.as_str(), token.expose());
}

#[tokio::test]
async fn each_login_opens_a_new_session_and_logout_ends_only_its_own() {
    let w = world(SessionLifetime::Unlimited);
    bob(&w).await;
    let (_, first) = w
        .auth
        .login(Some("bob@hbtn.io"), Some("H0lberton:School"))
        .await
        .unwrap();
    let (_, second) = w
        .auth
        .login(Some("bob@hbtn.io"), Some("H0lberton:School"))
        .await
        .unwrap();
    assert_ne!(first, second);
    assert!(w.auth.logout(&first).await.unwrap());
    assert!(!w.auth.logout(&first).await.unwrap());
    assert!(w.auth.user_for_token(&second).await.unwrap().is_some());
}

#[tokio::test]
async fn login_errors_say_what_was_wrong_in_the_flask_order() {
    let w = world(SessionLifetime::Unlimited);
    bob(&w).await;
    let login = |e: Option<&'static str>, p: Option<&'static str>| {
        let auth = w.auth.clone();
        async move { auth.login(e, p).await.map(|_| ()) }
    };
    assert!(matches!(
        login(None, None).await,
        Err(LoginError::EmailMissing)
    ));
    assert!(matches!(
        login(Some(""), Some("x")).await,
        Err(LoginError::EmailMissing)
    ));
    assert!(matches!(
        login(Some("bob@hbtn.io"), Some("")).await,
        Err(LoginError::PasswordMissing)
    ));
    assert!(matches!(
        login(Some("alice@hbtn.io"), Some("x")).await,
        Err(LoginError::UnknownEmail)
    ));
    assert!(matches!(
        login(Some("bob@hbtn.io"), Some("x")).await,
        Err(LoginError::WrongPassword)
    ));
}

#[tokio::test]
async fn legacy_hash_is_upgraded_at_the_first_successful_login_only() {
    let w = world(SessionLifetime::Unlimited);
    let legacy = PasswordHash::legacy_sha256_of(&Password::parse("pwd").unwrap());
    let now = w.clock.now();
    let old = User {
        id: UserId::generate(),
        email: Email::parse("old@hbtn.io").unwrap(),
        password_hash: legacy.clone(),
        first_name: None,
        last_name: None,
        created_at: now,
        updated_at: now,
    };
    w.users.restore(&old).await.unwrap();

    assert!(
        w.auth
            .login(Some("old@hbtn.io"), Some("nope"))
            .await
            .is_err()
    );
    assert_eq!(
        w.store.users.lock().unwrap()[0].password_hash,
        legacy,
        "a failed login upgrades nothing"
    );

    w.auth
        .login(Some("old@hbtn.io"), Some("pwd"))
        .await
        .unwrap();
    let stored = w.store.users.lock().unwrap()[0].password_hash.clone();
    assert_eq!(stored, PasswordHash::Argon2id("$argon2id$fake$pwd".into()));
    assert!(
        w.auth.login(Some("old@hbtn.io"), Some("pwd")).await.is_ok(),
        "the upgraded hash verifies"
    );
}

#[tokio::test]
async fn duplicate_email_is_refused() {
    let w = world(SessionLifetime::Unlimited);
    bob(&w).await;
    let again = w
        .users
        .create(NewUser {
            email: Some("bob@hbtn.io".into()),
            password: Password::parse("x"),
            ..NewUser::default()
        })
        .await;
    assert!(matches!(again, Err(CreateUserError::DuplicateEmail)));
    assert_eq!(w.users.count().await.unwrap(), 1);
}

#[tokio::test]
async fn create_user_requires_email_then_password() {
    let w = world(SessionLifetime::Unlimited);
    let no_email = w
        .users
        .create(NewUser {
            password: Password::parse("x"),
            ..NewUser::default()
        })
        .await;
    assert!(matches!(no_email, Err(CreateUserError::EmailMissing)));
    let no_password = w
        .users
        .create(NewUser {
            email: Some("a@b".into()),
            ..NewUser::default()
        })
        .await;
    assert!(matches!(no_password, Err(CreateUserError::PasswordMissing)));
}

#[tokio::test]
async fn update_applies_only_the_names_given() {
    let w = world(SessionLifetime::Unlimited);
    let bob = bob(&w).await;
    w.clock.advance(Duration::seconds(5));
    let updated = w
        .users
        .update_names(&bob.id.to_string(), Some("Bob".into()), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.first_name.as_deref(), Some("Bob"));
    assert_eq!(updated.last_name, None);
    assert_eq!(updated.updated_at, bob.updated_at + Duration::seconds(5));
    assert!(
        w.users
            .update_names("nope", None, None)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn deleting_a_user_ends_their_sessions() {
    let w = world(SessionLifetime::Unlimited);
    let bob = bob(&w).await;
    let (_, token) = w
        .auth
        .login(Some("bob@hbtn.io"), Some("H0lberton:School"))
        .await
        .unwrap();
    assert!(w.users.delete(&bob.id.to_string()).await.unwrap());
    assert!(w.auth.user_for_token(&token).await.unwrap().is_none());
    assert!(w.store.sessions.lock().unwrap().is_empty());
    assert!(!w.users.delete(&bob.id.to_string()).await.unwrap());
}

#[tokio::test]
async fn pruning_removes_only_expired_sessions() {
    let w = world(SessionLifetime::from_seconds(100));
    bob(&w).await;
    let (_, old) = w
        .auth
        .login(Some("bob@hbtn.io"), Some("H0lberton:School"))
        .await
        .unwrap();
    w.clock.advance(Duration::seconds(50));
    let (_, young) = w
        .auth
        .login(Some("bob@hbtn.io"), Some("H0lberton:School"))
        .await
        .unwrap();
    w.clock.advance(Duration::seconds(51));
    assert_eq!(w.auth.prune_expired().await.unwrap(), 1);
    assert!(w.auth.user_for_token(&old).await.unwrap().is_none());
    assert!(w.auth.user_for_token(&young).await.unwrap().is_some());
}
