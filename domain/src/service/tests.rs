//! Use-case and policy tests over small in-test fakes of the ports.

use crate::{
    AccessRules, AccountKey, AttemptLog, AuthPorts, AuthRules, AuthService, AuthType,
    Authentication, ChangePasswordError, ClientInfo, Clock, CreateUserError, CredentialFault,
    Email, EmailAndPassword, FailedAttempt, Failure, FailureWindow, Gate, GateDecision, HashError,
    LoginError, LoginErrors, NameChange, NewUser, Password, PasswordChange, PasswordHash,
    PasswordHasher, PasswordRuleError, PasswordRules, PasswordStrength, Presented, RepositoryError,
    Session, SessionId, SessionLifetime, SessionRepository, SessionRules, SessionToken,
    SetPasswordError, ThrottleRules, TokenGenerator, User, UserId, UserRepository, UserRules,
    UserService,
};
use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct FakeStore {
    users: Mutex<Vec<User>>,
    sessions: Mutex<HashMap<crate::session::SessionKey, Session>>,
    /// Every write of session activity fails (a full disk).
    failing_touch: std::sync::atomic::AtomicBool,
    /// Session inserts find their user gone (deleted meanwhile).
    users_vanish: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl UserRepository for FakeStore {
    async fn insert(&self, user: &User) -> Result<(), RepositoryError> {
        let mut users = self.users.lock().unwrap();
        if users.iter().any(|u| u.email.matches(&user.email)) {
            return Err(RepositoryError::DuplicateEmail);
        }
        users.push(user.clone());
        Ok(())
    }
    async fn insert_imported(&self, user: &User) -> Result<(), RepositoryError> {
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
        Ok(email.pick(self.users.lock().unwrap().iter()).cloned())
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
    async fn update_names(
        &self,
        id: &UserId,
        names: &NameChange,
        at: DateTime<Utc>,
    ) -> Result<Option<User>, RepositoryError> {
        let mut users = self.users.lock().unwrap();
        Ok(users.iter_mut().find(|u| u.id == *id).map(|user| {
            names.apply(user);
            user.updated_at = at;
            user.clone()
        }))
    }
    async fn replace_password_hash(
        &self,
        id: &UserId,
        expected: &PasswordHash,
        new: &PasswordHash,
        at: Option<DateTime<Utc>>,
    ) -> Result<bool, RepositoryError> {
        let mut users = self.users.lock().unwrap();
        let Some(user) = users
            .iter_mut()
            .find(|u| u.id == *id && u.password_hash == *expected)
        else {
            return Ok(false);
        };
        user.password_hash = new.clone();
        if let Some(at) = at {
            user.updated_at = at;
        }
        Ok(true)
    }
    async fn set_admin(
        &self,
        id: &UserId,
        is_admin: bool,
        at: DateTime<Utc>,
    ) -> Result<Option<User>, RepositoryError> {
        let mut users = self.users.lock().unwrap();
        let others = users.iter().any(|u| u.is_admin && u.id != *id);
        let Some(user) = users.iter_mut().find(|u| u.id == *id) else {
            return Ok(None);
        };
        if user.is_admin != is_admin {
            if user.is_admin && !others {
                return Err(RepositoryError::LastAdmin);
            }
            user.is_admin = is_admin;
            user.updated_at = at;
        }
        Ok(Some(user.clone()))
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
        if self.users_vanish.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(RepositoryError::NoSuchUser);
        }
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
    async fn touch(
        &self,
        key: &crate::session::SessionKey,
        at: DateTime<Utc>,
    ) -> Result<bool, RepositoryError> {
        if self
            .failing_touch
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Err(RepositoryError::Unexpected("disk full".into()));
        }
        let mut sessions = self.sessions.lock().unwrap();
        Ok(sessions.get_mut(key).map(|s| s.last_used_at = at).is_some())
    }
    async fn list_by_user(&self, user_id: &UserId) -> Result<Vec<Session>, RepositoryError> {
        let mut found: Vec<Session> = self
            .sessions
            .lock()
            .unwrap()
            .values()
            .filter(|s| s.user_id == *user_id)
            .cloned()
            .collect();
        found.sort_by_key(|s| s.created_at);
        Ok(found)
    }
    async fn delete_by_user(
        &self,
        user_id: &UserId,
        except: Option<&crate::session::SessionKey>,
    ) -> Result<u64, RepositoryError> {
        let mut sessions = self.sessions.lock().unwrap();
        let before = sessions.len();
        sessions.retain(|k, s| s.user_id != *user_id || Some(k) == except);
        Ok((before - sessions.len()) as u64)
    }
    async fn delete_expired(
        &self,
        created_before: Option<DateTime<Utc>>,
        last_used_before: Option<DateTime<Utc>>,
    ) -> Result<u64, RepositoryError> {
        let mut sessions = self.sessions.lock().unwrap();
        let before = sessions.len();
        sessions.retain(|_, s| {
            created_before.is_none_or(|c| s.created_at >= c)
                && last_used_before.is_none_or(|l| s.last_used_at >= l)
        });
        Ok((before - sessions.len()) as u64)
    }
}

#[derive(Default)]
struct FakeAttempts(Mutex<Vec<FailedAttempt>>);

#[async_trait]
impl AttemptLog for FakeAttempts {
    async fn record_failure(&self, attempt: &FailedAttempt) -> Result<(), RepositoryError> {
        self.0.lock().unwrap().push(attempt.clone());
        Ok(())
    }
    async fn failures(
        &self,
        account: Option<&AccountKey>,
        address: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<FailureWindow, RepositoryError> {
        let all = self.0.lock().unwrap();
        let times: Vec<DateTime<Utc>> = all
            .iter()
            .filter(|a| a.at > since)
            .filter(|a| account.is_none_or(|k| a.account == *k))
            .filter(|a| address.is_none_or(|ip| a.address == ip))
            .map(|a| a.at)
            .collect();
        Ok(FailureWindow {
            count: times.len() as u64,
            oldest: times.iter().min().copied(),
            latest: times.iter().max().copied(),
        })
    }
    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, RepositoryError> {
        let mut all = self.0.lock().unwrap();
        let count = all.len();
        all.retain(|a| a.at >= before);
        Ok((count - all.len()) as u64)
    }
}

/// Marks its hashes so a test can tell an upgraded one; verifies both kinds
/// and counts verifications.
#[derive(Default)]
struct FakeHasher {
    verifications: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl PasswordHasher for FakeHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        Ok(PasswordHash::Argon2id(format!(
            "$argon2id$fake${}",
            password.expose()
        )))
    }
    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError> {
        self.verifications
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(match hash {
            PasswordHash::Argon2id(s) => *s == format!("$argon2id$fake${}", password.expose()),
            legacy @ PasswordHash::LegacySha256(_) => {
                legacy.verify_legacy(password).unwrap_or(false)
            }
            PasswordHash::Unusable => false,
        })
    }
    fn decoy(&self) -> PasswordHash {
        // No password is empty, so no password verifies against it.
        PasswordHash::Argon2id("$argon2id$fake$".into())
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
    attempts: Arc<FakeAttempts>,
    hasher: Arc<FakeHasher>,
    clock: Arc<FakeClock>,
    auth: Arc<AuthService>,
    users: UserService,
}

fn world(lifetime: SessionLifetime) -> World {
    world_with(AuthRules {
        session_logins: true,
        sessions: SessionRules::lifetime(lifetime),
        throttle: ThrottleRules::default(),
        passwords: PasswordRules::default(),
        login_errors: LoginErrors::Compatible,
    })
}

fn world_with(rules: AuthRules) -> World {
    world_with_strength(rules, None)
}

fn world_with_strength(rules: AuthRules, strength: Option<Arc<dyn PasswordStrength>>) -> World {
    let store = Arc::new(FakeStore::default());
    let attempts = Arc::new(FakeAttempts::default());
    let hasher = Arc::new(FakeHasher::default());
    let clock = Arc::new(FakeClock(Mutex::new(
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap(),
    )));
    let ports = AuthPorts {
        users: store.clone(),
        sessions: store.clone(),
        attempts: attempts.clone(),
        hasher: hasher.clone(),
        clock: clock.clone(),
        tokens: Arc::new(CountingTokens(Mutex::new(0))),
        strength: strength.clone(),
    };
    let users = UserService::new(
        &ports,
        UserRules {
            passwords: rules.passwords,
            throttle: rules.throttle,
            access: AccessRules::default(),
        },
    );
    let auth = Arc::new(AuthService::new(ports, rules));
    World {
        store,
        attempts,
        hasher,
        clock,
        auth,
        users,
    }
}

/// The fields of `POST /users` as a client sends them.
#[derive(Default)]
struct NewFields {
    email: Option<String>,
    password: Option<Password>,
    first_name: Option<String>,
}

/// Creates a user from raw fields, parsed as the HTTP edge parses them.
async fn create_user(users: &UserService, fields: NewFields) -> Result<User, CreateUserError> {
    let new = NewUser::parse(
        fields.email,
        fields.password.map(|p| p.expose().to_owned()),
        fields.first_name,
        None,
    )?;
    users.create(new).await
}

/// Logs in with raw form fields, parsed as the HTTP edge parses them.
async fn login(
    auth: &AuthService,
    email: Option<&str>,
    password: Option<&str>,
    client: &ClientInfo,
) -> Result<(User, SessionToken), LoginError> {
    let logins = auth.logins()?;
    let credentials = EmailAndPassword::parse(email, password)?;
    logins.login(&credentials, client).await
}

/// The user a cookie with `token` resolves to.
async fn user_for_token(auth: &AuthService, token: &SessionToken) -> Result<Option<User>, Failure> {
    Ok(auth.session_for_token(token).await?.map(|(_, user)| user))
}

/// Logs out the session of `token`, as `DELETE /auth_session/logout` does
/// after the gate resolved it; `false` when no live session has it.
async fn logout(auth: &AuthService, token: &SessionToken) -> Result<bool, Failure> {
    match auth.session_for_token(token).await? {
        Some((session, _)) => auth.logout(&session).await,
        None => Ok(false),
    }
}

/// Changes a password from raw fields, keeping the session of `keep`.
async fn change_password(
    auth: &AuthService,
    user: &User,
    current: Option<&str>,
    new: Option<&str>,
    keep: Option<&SessionToken>,
    client_address: Option<&str>,
) -> Result<User, ChangePasswordError> {
    let change = PasswordChange::parse(current, new)?;
    let keep = keep.map(SessionToken::key);
    auth.change_password(user, change, keep.as_ref(), client_address)
        .await
}

/// Ends a session by the handle a client sends.
async fn end_session(
    auth: &AuthService,
    user: &UserId,
    handle: &str,
) -> Result<Option<Session>, Failure> {
    match SessionId::parse(handle) {
        Some(handle) => auth.end_session(user, handle).await,
        None => Ok(None),
    }
}

async fn bob(w: &World) -> User {
    create_user(
        &w.users,
        NewFields {
            email: Some("bob@hbtn.io".into()),
            password: Password::parse("H0lberton:School"),
            ..NewFields::default()
        },
    )
    .await
    .unwrap()
}

/// Logs bob in with his password from nowhere in particular.
async fn login_bob(w: &World) -> SessionToken {
    let client = ClientInfo::default();
    let (_, token) = login(
        &w.auth,
        Some("bob@hbtn.io"),
        Some("H0lberton:School"),
        &client,
    )
    .await
    .unwrap();
    token
}

/// Bob's email and `password`, as the `basic_auth` credential.
fn basic(password: &str) -> Option<EmailAndPassword> {
    Some(EmailAndPassword::parse(Some("bob@hbtn.io"), Some(password)).unwrap())
}

fn gate(w: &World, auth_type: AuthType) -> Gate {
    Gate::new(auth_type.policy(w.auth.clone()))
}

fn passed_user(decision: GateDecision) -> Option<User> {
    match decision {
        GateDecision::Pass(caller) => caller.user,
        other => panic!("expected the gate to pass, got {other:?}"),
    }
}

#[tokio::test]
async fn basic_auth_policy_resolves_the_user_with_the_right_password_only() {
    let w = world(SessionLifetime::Unlimited);
    let bob = bob(&w).await;
    let gate = gate(&w, AuthType::BasicAuth);
    assert!(gate.accepts_basic());
    let creds = Presented {
        basic: basic("H0lberton:School"),
        ..Presented::default()
    };
    assert_eq!(
        passed_user(
            gate.check(Authentication::Required, &creds, ClientInfo::default())
                .await
                .unwrap()
        ),
        Some(bob)
    );

    let creds = Presented {
        basic: basic("wrong"),
        ..Presented::default()
    };
    assert!(matches!(
        gate.check(Authentication::Required, &creds, ClientInfo::default())
            .await
            .unwrap(),
        GateDecision::Forbidden
    ));
    // A credential the adapter could not read identifies no one, but it
    // was presented: 403, not 401.
    let unreadable = Presented {
        unreadable: true,
        ..Presented::default()
    };
    assert!(matches!(
        gate.check(Authentication::Required, &unreadable, ClientInfo::default())
            .await
            .unwrap(),
        GateDecision::Forbidden
    ));
}

#[tokio::test]
async fn gate_without_credentials_is_unauthorized_and_skipped_routes_pass() {
    let w = world(SessionLifetime::Unlimited);
    let gate = gate(&w, AuthType::SessionAuth);
    assert!(!gate.accepts_basic());
    let none = Presented::default();
    assert!(matches!(
        gate.check(Authentication::Required, &none, ClientInfo::default())
            .await
            .unwrap(),
        GateDecision::Unauthorized
    ));
    assert!(
        passed_user(
            gate.check(Authentication::Skipped, &none, ClientInfo::default())
                .await
                .unwrap()
        )
        .is_none()
    );
    // What a request presents is not looked at where authentication is
    // skipped.
    let junk = Presented {
        session_token: Some("junk"),
        ..Presented::default()
    };
    assert!(
        passed_user(
            gate.check(Authentication::Skipped, &junk, ClientInfo::default())
                .await
                .unwrap()
        )
        .is_none()
    );
}

#[tokio::test]
async fn optional_authentication_identifies_whom_it_can_and_lets_the_rest_in_anonymously() {
    let w = world(SessionLifetime::Unlimited);
    let bob = bob(&w).await;
    let token = login_bob(&w).await;
    let gate = gate(&w, AuthType::SessionDbAuth);
    let anonymous = |presented| {
        let gate = gate.clone();
        async move {
            passed_user(
                gate.check(Authentication::Optional, &presented, ClientInfo::default())
                    .await
                    .unwrap(),
            )
        }
    };
    assert_eq!(anonymous(Presented::default()).await, None);
    let stale = Presented {
        session_token: Some("stale"),
        ..Presented::default()
    };
    assert_eq!(anonymous(stale).await, None);
    let good = Presented {
        session_token: Some(token.expose()),
        ..Presented::default()
    };
    assert_eq!(anonymous(good).await, Some(bob));
}

#[tokio::test]
async fn auth_policy_never_resolves_anyone() {
    let w = world(SessionLifetime::Unlimited);
    bob(&w).await;
    let token = login_bob(&w).await;
    let gate = gate(&w, AuthType::Auth);
    let creds = Presented {
        basic: basic("H0lberton:School"),
        session_token: Some(token.expose()),
        unreadable: false,
    };
    assert!(matches!(
        gate.check(Authentication::Required, &creds, ClientInfo::default())
            .await
            .unwrap(),
        GateDecision::Forbidden
    ));
}

#[tokio::test]
async fn none_policy_lets_everything_through_without_a_user() {
    let w = world(SessionLifetime::Unlimited);
    let gate = gate(&w, AuthType::None);
    assert!(!gate.accepts_basic());
    assert!(
        passed_user(
            gate.check(
                Authentication::Required,
                &Presented::default(),
                ClientInfo::default()
            )
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
    let token = login_bob(&w).await;
    let gate = gate(&w, AuthType::SessionDbAuth);
    let creds = Presented {
        session_token: Some(token.expose()),
        ..Presented::default()
    };
    assert_eq!(
        passed_user(
            gate.check(Authentication::Required, &creds, ClientInfo::default())
                .await
                .unwrap()
        ),
        Some(bob)
    );

    let only_basic = Presented {
        basic: basic("H0lberton:School"),
        ..Presented::default()
    };
    assert!(matches!(
        gate.check(Authentication::Required, &only_basic, ClientInfo::default())
            .await
            .unwrap(),
        GateDecision::Forbidden
    ));

    let unknown = Presented {
        session_token: Some("not-a-session"),
        ..Presented::default()
    };
    assert!(matches!(
        gate.check(Authentication::Required, &unknown, ClientInfo::default())
            .await
            .unwrap(),
        GateDecision::Forbidden
    ));
}

#[tokio::test]
async fn session_resolves_at_the_exact_expiry_instant_and_not_one_second_later() {
    let w = world(SessionLifetime::from_seconds(60));
    bob(&w).await;
    let token = login_bob(&w).await;
    w.clock.advance(Duration::seconds(60));
    assert!(user_for_token(&w.auth, &token).await.unwrap().is_some());
    w.clock.advance(Duration::seconds(1));
    assert!(user_for_token(&w.auth, &token).await.unwrap().is_none());
    assert!(
        !logout(&w.auth, &token).await.unwrap(),
        "an expired session cannot be logged out"
    );
}

#[tokio::test]
async fn login_stores_only_the_digest_of_the_token() {
    let w = world(SessionLifetime::Unlimited);
    bob(&w).await;
    let token = login_bob(&w).await;
    let sessions = w.store.sessions.lock().unwrap();
    let stored = sessions.values().next().unwrap();
    assert_eq!(stored.key, token.key());
    assert_ne!(stored.key.as_str(), token.expose());
}

#[tokio::test]
async fn each_login_opens_a_new_session_and_logout_ends_only_its_own() {
    let w = world(SessionLifetime::Unlimited);
    bob(&w).await;
    let first = login_bob(&w).await;
    let second = login_bob(&w).await;
    assert_ne!(first, second);
    assert!(logout(&w.auth, &first).await.unwrap());
    assert!(!logout(&w.auth, &first).await.unwrap());
    assert!(user_for_token(&w.auth, &second).await.unwrap().is_some());
}

#[tokio::test]
async fn login_errors_say_what_was_wrong_in_the_flask_order() {
    let w = world(SessionLifetime::Unlimited);
    bob(&w).await;
    let login = |e: Option<&'static str>, p: Option<&'static str>| {
        let auth = w.auth.clone();
        async move { login(&auth, e, p, &ClientInfo::default()).await.map(|_| ()) }
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
        is_admin: false,
    };
    UserRepository::insert(w.store.as_ref(), &old)
        .await
        .unwrap();

    assert!(
        login(
            &w.auth,
            Some("old@hbtn.io"),
            Some("nope"),
            &ClientInfo::default()
        )
        .await
        .is_err()
    );
    assert_eq!(
        w.store.users.lock().unwrap()[0].password_hash,
        legacy,
        "a failed login upgrades nothing"
    );

    login(
        &w.auth,
        Some("old@hbtn.io"),
        Some("pwd"),
        &ClientInfo::default(),
    )
    .await
    .unwrap();
    let stored = w.store.users.lock().unwrap()[0].password_hash.clone();
    assert_eq!(stored, PasswordHash::Argon2id("$argon2id$fake$pwd".into()));
    assert!(
        login(
            &w.auth,
            Some("old@hbtn.io"),
            Some("pwd"),
            &ClientInfo::default()
        )
        .await
        .is_ok(),
        "the upgraded hash verifies"
    );
}

#[tokio::test]
async fn duplicate_email_is_refused() {
    let w = world(SessionLifetime::Unlimited);
    bob(&w).await;
    let again = create_user(
        &w.users,
        NewFields {
            email: Some("bob@hbtn.io".into()),
            password: Password::parse("x"),
            ..NewFields::default()
        },
    )
    .await;
    assert!(matches!(again, Err(CreateUserError::DuplicateEmail)));
    assert_eq!(w.users.count().await.unwrap(), 1);
}

#[tokio::test]
async fn create_user_requires_email_then_password() {
    let w = world(SessionLifetime::Unlimited);
    let no_email = create_user(
        &w.users,
        NewFields {
            password: Password::parse("x"),
            ..NewFields::default()
        },
    )
    .await;
    assert!(matches!(no_email, Err(CreateUserError::EmailMissing)));
    let no_password = create_user(
        &w.users,
        NewFields {
            email: Some("a@b".into()),
            ..NewFields::default()
        },
    )
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
        .update_names(
            &bob.id,
            &NameChange::parse(Some("Bob".into()), None).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.first_name.as_deref(), Some("Bob"));
    assert_eq!(updated.last_name, None);
    assert_eq!(updated.updated_at, bob.updated_at + Duration::seconds(5));
    assert!(
        w.users
            .update_names(&UserId::generate(), &NameChange::default())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn deleting_a_user_ends_their_sessions() {
    let w = world(SessionLifetime::Unlimited);
    let bob = bob(&w).await;
    let token = login_bob(&w).await;
    assert!(w.users.delete(&bob.id).await.unwrap());
    assert!(user_for_token(&w.auth, &token).await.unwrap().is_none());
    assert!(w.store.sessions.lock().unwrap().is_empty());
    assert!(!w.users.delete(&bob.id).await.unwrap());
}

#[tokio::test]
async fn pruning_removes_only_expired_sessions() {
    let w = world(SessionLifetime::from_seconds(100));
    bob(&w).await;
    let old = login_bob(&w).await;
    w.clock.advance(Duration::seconds(50));
    let young = login_bob(&w).await;
    w.clock.advance(Duration::seconds(51));
    assert_eq!(w.auth.prune_expired().await.unwrap(), 1);
    assert!(user_for_token(&w.auth, &old).await.unwrap().is_none());
    assert!(user_for_token(&w.auth, &young).await.unwrap().is_some());
}

fn small_throttle() -> AuthRules {
    AuthRules {
        session_logins: true,
        sessions: SessionRules::lifetime(SessionLifetime::Unlimited),
        throttle: ThrottleRules {
            account_max_failures: 5,
            account_window: Duration::hours(1),
            address_max_failures: 3,
            backoff: Duration::seconds(60),
        },
        passwords: PasswordRules::default(),
        login_errors: LoginErrors::Compatible,
    }
}

async fn try_login(w: &World, password: &str, address: &str) -> Result<(), LoginError> {
    let client = ClientInfo {
        address: Some(address.into()),
        user_agent: None,
    };
    login(&w.auth, Some("bob@hbtn.io"), Some(password), &client)
        .await
        .map(|_| ())
}

#[tokio::test]
async fn an_address_past_its_failures_waits_out_the_back_off() {
    let w = world_with(small_throttle());
    bob(&w).await;
    for _ in 0..3 {
        assert!(matches!(
            try_login(&w, "wrong", "10.0.0.1").await,
            Err(LoginError::WrongPassword)
        ));
    }
    match try_login(&w, "H0lberton:School", "10.0.0.1").await {
        Err(LoginError::TooManyAttempts(wait)) => assert_eq!(wait, Duration::seconds(60)),
        other => panic!("expected a back-off, got {other:?}"),
    }
    w.clock.advance(Duration::seconds(60));
    assert!(try_login(&w, "H0lberton:School", "10.0.0.1").await.is_ok());
}

#[tokio::test]
async fn a_capped_account_blocks_its_attackers_but_lets_the_owner_in_after_one_back_off() {
    let w = world_with(small_throttle());
    bob(&w).await;
    // Five failures from addresses that each stay under the address limit.
    for (i, address) in ["10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.3"]
        .iter()
        .enumerate()
    {
        w.clock.advance(Duration::seconds(1));
        assert!(
            matches!(
                try_login(&w, "wrong", address).await,
                Err(LoginError::WrongPassword)
            ),
            "attempt {i}"
        );
    }
    // An attacking address waits for the window, even with the right password.
    assert!(matches!(
        try_login(&w, "H0lberton:School", "10.0.0.2").await,
        Err(LoginError::TooManyAttempts(_))
    ));
    // The owner elsewhere waits at most one back-off after the last failure.
    match try_login(&w, "H0lberton:School", "192.168.1.9").await {
        Err(LoginError::TooManyAttempts(wait)) => assert!(wait <= Duration::seconds(60), "{wait}"),
        other => panic!("expected pacing, got {other:?}"),
    }
    w.clock.advance(Duration::seconds(60));
    assert!(
        try_login(&w, "H0lberton:School", "192.168.1.9")
            .await
            .is_ok()
    );
    assert_eq!(
        w.attempts.0.lock().unwrap().len(),
        5,
        "refused attempts are not checked, so not counted"
    );
}

#[tokio::test]
async fn an_unknown_email_costs_a_password_verification_and_counts_as_a_failure() {
    let w = world(SessionLifetime::Unlimited);
    bob(&w).await;
    let before = w
        .hasher
        .verifications
        .load(std::sync::atomic::Ordering::SeqCst);
    let result = login(
        &w.auth,
        Some("nobody@hbtn.io"),
        Some("guess"),
        &ClientInfo::default(),
    )
    .await;
    assert!(matches!(result, Err(LoginError::UnknownEmail)));
    assert_eq!(
        w.hasher
            .verifications
            .load(std::sync::atomic::Ordering::SeqCst),
        before + 1
    );
    let logged = w.attempts.0.lock().unwrap();
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].account, AccountKey::of("nobody@hbtn.io"));
    assert!(
        !logged[0].account.as_str().contains("nobody"),
        "the log keeps a digest, not the email"
    );
}

fn idle_rules(idle: i64) -> AuthRules {
    AuthRules {
        session_logins: true,
        sessions: SessionRules {
            lifetime: SessionLifetime::from_seconds(3600),
            idle_timeout: Some(Duration::seconds(idle)),
        },
        throttle: ThrottleRules::default(),
        passwords: PasswordRules::default(),
        login_errors: LoginErrors::Compatible,
    }
}

#[tokio::test]
async fn activity_keeps_a_session_alive_past_the_idle_timeout_but_not_past_its_lifetime() {
    let w = world_with(idle_rules(600));
    bob(&w).await;
    let token = login_bob(&w).await;
    for _ in 0..6 {
        w.clock.advance(Duration::seconds(500));
        assert!(
            user_for_token(&w.auth, &token).await.unwrap().is_some(),
            "used every 500 s of a 600 s idle timeout"
        );
        if w.clock.now()
            - w.store
                .sessions
                .lock()
                .unwrap()
                .values()
                .next()
                .unwrap()
                .created_at
            > Duration::seconds(3000)
        {
            break;
        }
    }
    w.clock.advance(Duration::seconds(601));
    assert!(user_for_token(&w.auth, &token).await.unwrap().is_none());
}

#[tokio::test]
async fn an_idle_session_ends_and_reads_write_at_most_once_per_interval() {
    let w = world_with(idle_rules(40));
    bob(&w).await;
    let token = login_bob(&w).await;
    let last_used = || {
        w.store
            .sessions
            .lock()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .last_used_at
    };
    let login_time = last_used();
    w.clock.advance(Duration::seconds(19));
    user_for_token(&w.auth, &token).await.unwrap();
    assert_eq!(
        last_used(),
        login_time,
        "no write within half the idle timeout"
    );
    w.clock.advance(Duration::seconds(1));
    user_for_token(&w.auth, &token).await.unwrap();
    assert_eq!(last_used(), login_time + Duration::seconds(20));
    w.clock.advance(Duration::seconds(41));
    assert!(user_for_token(&w.auth, &token).await.unwrap().is_none());
}

#[tokio::test]
async fn a_user_lists_and_ends_only_their_own_sessions() {
    let w = world(SessionLifetime::Unlimited);
    let bob = bob(&w).await;
    let alice = create_user(
        &w.users,
        NewFields {
            email: Some("alice@hbtn.io".into()),
            password: Password::parse("pw"),
            ..NewFields::default()
        },
    )
    .await
    .unwrap();
    let client = ClientInfo {
        address: Some("10.1.2.3".into()),
        user_agent: Some("curl/8".into()),
    };
    let (_, first) = login(
        &w.auth,
        Some("bob@hbtn.io"),
        Some("H0lberton:School"),
        &client,
    )
    .await
    .unwrap();
    let (_, second) = login(
        &w.auth,
        Some("bob@hbtn.io"),
        Some("H0lberton:School"),
        &client,
    )
    .await
    .unwrap();
    let (_, alices) = login(&w.auth, Some("alice@hbtn.io"), Some("pw"), &client)
        .await
        .unwrap();

    let listed = w.auth.sessions_of(&bob.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].client_address.as_deref(), Some("10.1.2.3"));
    assert_eq!(listed[0].user_agent.as_deref(), Some("curl/8"));

    let alice_handle = w.auth.sessions_of(&alice.id).await.unwrap()[0]
        .id
        .to_string();
    assert!(
        end_session(&w.auth, &bob.id, &alice_handle)
            .await
            .unwrap()
            .is_none(),
        "another user's handle ends nothing"
    );
    assert!(user_for_token(&w.auth, &alices).await.unwrap().is_some());

    assert_eq!(
        w.auth
            .end_sessions(&bob.id, Some(&second.key()))
            .await
            .unwrap(),
        1
    );
    assert!(user_for_token(&w.auth, &first).await.unwrap().is_none());
    assert!(user_for_token(&w.auth, &second).await.unwrap().is_some());
    let handle = w.auth.sessions_of(&bob.id).await.unwrap()[0].id.to_string();
    assert!(
        end_session(&w.auth, &bob.id, &handle)
            .await
            .unwrap()
            .is_some()
    );
    assert!(user_for_token(&w.auth, &second).await.unwrap().is_none());
}

#[tokio::test]
async fn changing_the_password_keeps_the_current_session_and_ends_the_others() {
    let w = world(SessionLifetime::Unlimited);
    let bob = bob(&w).await;
    let here = login_bob(&w).await;
    let there = login_bob(&w).await;

    let wrong = change_password(
        &w.auth,
        &bob,
        Some("nope"),
        Some("new-secret"),
        Some(&here),
        None,
    )
    .await;
    assert!(matches!(wrong, Err(ChangePasswordError::WrongPassword)));
    assert!(
        user_for_token(&w.auth, &there).await.unwrap().is_some(),
        "a wrong current password changes nothing"
    );

    let too_long = "x".repeat(129);
    let long = change_password(
        &w.auth,
        &bob,
        Some("H0lberton:School"),
        Some(&too_long),
        Some(&here),
        None,
    )
    .await;
    assert!(matches!(long, Err(ChangePasswordError::Rule(_))));

    change_password(
        &w.auth,
        &bob,
        Some("H0lberton:School"),
        Some("new-secret"),
        Some(&here),
        None,
    )
    .await
    .unwrap();
    assert!(user_for_token(&w.auth, &here).await.unwrap().is_some());
    assert!(user_for_token(&w.auth, &there).await.unwrap().is_none());
    assert!(
        login(
            &w.auth,
            Some("bob@hbtn.io"),
            Some("H0lberton:School"),
            &ClientInfo::default()
        )
        .await
        .is_err()
    );
    assert!(
        login(
            &w.auth,
            Some("bob@hbtn.io"),
            Some("new-secret"),
            &ClientInfo::default()
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn pruning_removes_idle_sessions_too() {
    let w = world_with(idle_rules(100));
    bob(&w).await;
    let idle = login_bob(&w).await;
    w.clock.advance(Duration::seconds(90));
    let fresh = login_bob(&w).await;
    w.clock.advance(Duration::seconds(20));
    assert_eq!(w.auth.prune_expired().await.unwrap(), 1);
    assert!(user_for_token(&w.auth, &idle).await.unwrap().is_none());
    assert!(user_for_token(&w.auth, &fresh).await.unwrap().is_some());
}

#[tokio::test]
async fn a_failed_activity_write_never_fails_the_request_it_was_recorded_for() {
    let w = world_with(idle_rules(600));
    bob(&w).await;
    let token = login_bob(&w).await;
    w.store
        .failing_touch
        .store(true, std::sync::atomic::Ordering::Relaxed);
    w.clock.advance(Duration::seconds(400));
    assert!(
        user_for_token(&w.auth, &token).await.unwrap().is_some(),
        "the session still resolves while activity cannot be written"
    );
}

#[tokio::test]
async fn a_login_that_loses_the_race_with_its_users_deletion_names_no_one() {
    let w = world(SessionLifetime::Unlimited);
    bob(&w).await;
    w.store
        .users_vanish
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let lost = login(
        &w.auth,
        Some("bob@hbtn.io"),
        Some("H0lberton:School"),
        &ClientInfo::default(),
    )
    .await;
    assert!(matches!(lost, Err(LoginError::UnknownEmail)), "{lost:?}");
}

fn generic_rules() -> AuthRules {
    AuthRules {
        login_errors: LoginErrors::Generic,
        ..small_throttle()
    }
}

fn verifications(w: &World) -> usize {
    w.hasher
        .verifications
        .load(std::sync::atomic::Ordering::SeqCst)
}

#[tokio::test]
async fn under_generic_login_errors_an_unknown_email_and_a_wrong_password_are_told_alike() {
    let w = world_with(generic_rules());
    bob(&w).await;
    let client = ClientInfo::default();
    let before = verifications(&w);
    let unknown = login(&w.auth, Some("nobody@hbtn.io"), Some("guess"), &client)
        .await
        .unwrap_err();
    assert_eq!(
        verifications(&w),
        before + 1,
        "an unknown email is verified against the decoy hash"
    );
    let wrong = login(&w.auth, Some("bob@hbtn.io"), Some("guess"), &client)
        .await
        .unwrap_err();
    assert_eq!(verifications(&w), before + 2);
    assert_eq!(unknown.to_string(), wrong.to_string());
    assert_eq!(unknown.to_string(), "wrong email or password");
    assert!(matches!(
        unknown,
        LoginError::InvalidCredentials(CredentialFault::UnknownEmail)
    ));
    assert!(matches!(
        wrong,
        LoginError::InvalidCredentials(CredentialFault::WrongPassword)
    ));
    let logged = w.attempts.0.lock().unwrap();
    assert_eq!(logged.len(), 2, "the throttle counts both alike");
}

#[tokio::test]
async fn under_generic_login_errors_a_wrong_current_password_is_still_refused() {
    let w = world_with(generic_rules());
    let user = bob(&w).await;
    let refused = change_password(&w.auth, &user, Some("nope"), Some("new one"), None, None).await;
    assert!(matches!(refused, Err(ChangePasswordError::WrongPassword)));
}

#[tokio::test]
async fn emails_are_compared_ignoring_case_for_login_and_uniqueness() {
    let w = world(SessionLifetime::Unlimited);
    let bob = bob(&w).await;
    let (found, _) = login(
        &w.auth,
        Some("BOB@Hbtn.IO"),
        Some("H0lberton:School"),
        &ClientInfo::default(),
    )
    .await
    .unwrap();
    assert_eq!(found.id, bob.id);
    let twin = create_user(
        &w.users,
        NewFields {
            email: Some("Bob@HBTN.io".into()),
            password: Password::parse("other"),
            ..NewFields::default()
        },
    )
    .await;
    assert!(matches!(twin, Err(CreateUserError::DuplicateEmail)));
    assert_eq!(w.store.users.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn failures_on_one_email_in_any_case_count_against_one_account() {
    let w = world_with(small_throttle());
    bob(&w).await;
    for (i, email) in [
        "bob@hbtn.io",
        "BOB@hbtn.io",
        "Bob@Hbtn.io",
        "bOb@hbtn.IO",
        "bob@HBTN.io",
    ]
    .iter()
    .enumerate()
    {
        let client = ClientInfo {
            address: Some(format!("10.0.0.{i}")),
            user_agent: None,
        };
        assert!(
            login(&w.auth, Some(email), Some("wrong"), &client)
                .await
                .is_err()
        );
    }
    let client = ClientInfo {
        address: Some("10.0.0.1".into()),
        user_agent: None,
    };
    assert!(matches!(
        login(
            &w.auth,
            Some("bob@hbtn.io"),
            Some("H0lberton:School"),
            &client
        )
        .await,
        Err(LoginError::TooManyAttempts(_))
    ));
}

#[tokio::test]
async fn a_new_email_must_have_the_documented_syntax_and_missing_fields_keep_the_flask_messages() {
    let w = world(SessionLifetime::Unlimited);
    let refused = create_user(
        &w.users,
        NewFields {
            email: Some("not-an-email".into()),
            password: Password::parse("pw"),
            ..NewFields::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "Can't create User: email must contain an @"
    );
    let missing = create_user(
        &w.users,
        NewFields {
            email: Some(String::new()),
            ..NewFields::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(missing.to_string(), "email missing");
    let missing = create_user(
        &w.users,
        NewFields {
            email: Some("not-an-email".into()),
            ..NewFields::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(missing.to_string(), "password missing");
}

#[tokio::test]
async fn a_legacy_email_without_the_new_syntax_still_logs_in() {
    let w = world(SessionLifetime::Unlimited);
    let legacy = User {
        id: UserId::generate(),
        email: Email::parse("bob").unwrap(),
        password_hash: PasswordHash::legacy_sha256_of(&Password::parse("pw").unwrap()),
        first_name: None,
        last_name: None,
        created_at: w.clock.now(),
        updated_at: w.clock.now(),
        is_admin: false,
    };
    w.store.insert_imported(&legacy).await.unwrap();
    let (found, _) = login(&w.auth, Some("BOB"), Some("pw"), &ClientInfo::default())
        .await
        .unwrap();
    assert_eq!(found.id, legacy.id);
}

/// Refuses any password holding "weak" or one of the account's words, and
/// records the words it was given.
#[derive(Default)]
struct FakeStrength {
    seen: Mutex<Vec<String>>,
}

impl PasswordStrength for FakeStrength {
    fn check(&self, password: &Password, context: &[&str]) -> Result<(), String> {
        *self.seen.lock().unwrap() = context.iter().map(|w| (*w).to_owned()).collect();
        if password.expose().contains("weak")
            || context.iter().any(|w| password.expose().contains(w))
        {
            Err("Add another word or two.".into())
        } else {
            Ok(())
        }
    }
}

#[tokio::test]
async fn the_strength_rule_applies_on_every_path_that_sets_a_password() {
    let strength = Arc::new(FakeStrength::default());
    let w = world_with_strength(small_throttle(), Some(strength.clone()));
    let weak = create_user(
        &w.users,
        NewFields {
            email: Some("ann@x.io".into()),
            password: Password::parse("so weak"),
            first_name: Some("Ann".into()),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        weak.to_string(),
        "Can't create User: password is too weak: Add another word or two."
    );
    assert_eq!(*strength.seen.lock().unwrap(), ["ann@x.io", "ann", "Ann"]);
    assert!(w.store.users.lock().unwrap().is_empty());
    let user = bob(&w).await;
    let reset = w
        .users
        .set_password(&user.id, &Password::parse("weak again").unwrap())
        .await;
    assert!(matches!(
        reset,
        Err(SetPasswordError::Rule(PasswordRuleError::TooWeak(_)))
    ));
    let change = change_password(
        &w.auth,
        &user,
        Some("H0lberton:School"),
        Some("bob@hbtn.io!"),
        None,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(
        change.to_string(),
        "new_password: password is too weak: Add another word or two."
    );
    assert!(
        change_password(
            &w.auth,
            &user,
            Some("H0lberton:School"),
            Some("correct horse battery"),
            None,
            None
        )
        .await
        .is_ok()
    );
}
