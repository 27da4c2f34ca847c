//! Use-case and policy tests over small in-test fakes of the ports.

use crate::{
    AccessRules, AccountKey, Actor, AdminFlagRequest, AttemptLog, AuditEvent, AuditLog,
    AuthService, AuthType, Authentication, ChangePasswordError, ClientInfo, Clock, CreateUserError,
    CredentialFault, DeleteUserError, Email, EmailAndPassword, FailedAttempt, Failure,
    FailureWindow, Gate, GateDecision, HashError, LoginError, LoginErrors, NameChange, NewUser,
    Password, PasswordChange, PasswordHash, PasswordHasher, PasswordRuleError, PasswordRules,
    PasswordStrength, Ports, Presented, Principal, RepositoryError, Rules, Session, SessionError,
    SessionId, SessionLifetime, SessionRepository, SessionRules, SessionToken, SetPasswordError,
    ThrottleRules, TokenGenerator, UseCases, User, UserChange, UserId, UserRepository,
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
    /// The per-request look-up answers this activity time instead of the
    /// stored one (a cache that has not heard another instance's touch).
    stale_activity: Mutex<Option<DateTime<Utc>>>,
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
    async fn find_with_user(
        &self,
        key: &crate::session::SessionKey,
        users: &dyn UserRepository,
    ) -> Result<Option<(Session, Option<User>)>, RepositoryError> {
        let Some(mut session) = self.find(key).await? else {
            return Ok(None);
        };
        if let Some(stale) = *self.stale_activity.lock().unwrap() {
            session.last_used_at = stale;
        }
        let user = users.get(&session.user_id).await?;
        Ok(Some((session, user)))
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
    hashes: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl PasswordHasher for FakeHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        self.hashes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
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

/// Keeps every audit event, with its actor's label.
#[derive(Default)]
struct RecordingAudit(Mutex<Vec<(String, AuditEvent)>>);

impl AuditLog for RecordingAudit {
    fn record(&self, actor: &Actor, event: AuditEvent) {
        self.0
            .lock()
            .unwrap()
            .push((actor.label().to_string(), event));
    }
}

impl RecordingAudit {
    /// The events recorded so far, as `(actor label, event name)`.
    fn names(&self) -> Vec<(String, &'static str)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(actor, event)| (actor.clone(), event.name()))
            .collect()
    }
}

struct World {
    store: Arc<FakeStore>,
    attempts: Arc<FakeAttempts>,
    hasher: Arc<FakeHasher>,
    clock: Arc<FakeClock>,
    audit: Arc<RecordingAudit>,
    auth: Arc<AuthService>,
    uc: UseCases,
}

/// The brute-force limits `THROTTLE_*` default to.
fn default_throttle() -> ThrottleRules {
    ThrottleRules {
        account_max_failures: 100,
        account_window: Duration::hours(1),
        address_max_failures: 10,
        backoff: Duration::seconds(60),
    }
}

/// The password lengths `PASSWORD_MIN_LENGTH` and `PASSWORD_MAX_LENGTH`
/// default to.
fn default_passwords() -> PasswordRules {
    PasswordRules {
        min_length: 1,
        max_length: 128,
    }
}

fn world(lifetime: SessionLifetime) -> World {
    world_with(Rules {
        session_logins: true,
        sessions: SessionRules::lifetime(lifetime),
        throttle: default_throttle(),
        passwords: default_passwords(),
        login_errors: LoginErrors::Compatible,
        access: AccessRules::default(),
    })
}

fn world_with(rules: Rules) -> World {
    world_with_strength(rules, None)
}

fn world_with_strength(rules: Rules, strength: Option<Arc<dyn PasswordStrength>>) -> World {
    let store = Arc::new(FakeStore::default());
    let attempts = Arc::new(FakeAttempts::default());
    let hasher = Arc::new(FakeHasher::default());
    let clock = Arc::new(FakeClock(Mutex::new(
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap(),
    )));
    let audit = Arc::new(RecordingAudit::default());
    let ports = Ports {
        users: store.clone(),
        sessions: store.clone(),
        attempts: attempts.clone(),
        hasher: hasher.clone(),
        clock: clock.clone(),
        tokens: Arc::new(CountingTokens(Mutex::new(0))),
        strength: strength.clone(),
        audit: audit.clone(),
    };
    let (uc, auth) = UseCases::wire(&ports, &rules);
    World {
        store,
        attempts,
        hasher,
        clock,
        audit,
        auth,
        uc,
    }
}

/// The fields of `POST /users` as a client sends them.
#[derive(Default)]
struct NewFields {
    email: Option<String>,
    password: Option<Password>,
    first_name: Option<String>,
}

/// Creates a user from raw fields, parsed as the HTTP edge parses them,
/// as an operator.
async fn create_user(w: &World, fields: NewFields) -> Result<User, CreateUserError> {
    let new = NewUser::parse(
        fields.email,
        fields.password.map(|p| p.expose().to_owned()),
        fields.first_name,
        None,
    )?;
    w.uc.users.create_user(&Actor::operator(), new).await
}

/// An anonymous actor sending from `client`.
fn from(client: &ClientInfo) -> Actor {
    Actor {
        client: client.clone(),
        ..Actor::default()
    }
}

/// Logs in with raw form fields.
async fn login(
    w: &World,
    email: Option<&str>,
    password: Option<&str>,
    client: &ClientInfo,
) -> Result<(User, SessionToken), LoginError> {
    let signed_in = w.uc.sign_in.login(&from(client), email, password).await?;
    Ok((signed_in.user, signed_in.token))
}

/// The user a cookie with `token` resolves to.
async fn user_for_token(auth: &AuthService, token: &SessionToken) -> Result<Option<User>, Failure> {
    Ok(auth.session_for_token(token).await?.map(|(_, user)| user))
}

/// The actor a request with the cookie `token` is, as the gate resolves
/// it (anonymous when the token resolves no one).
async fn signed_in(w: &World, token: &SessionToken) -> Actor {
    match w.auth.session_for_token(token).await.unwrap() {
        Some((session, user)) => Actor {
            principal: Principal::User {
                user,
                session: Some(session),
            },
            ..Actor::default()
        },
        None => Actor::default(),
    }
}

/// Logs out the session of `token`, as `DELETE /auth_session/logout` does
/// after the gate resolved it; `false` when no live session has it.
async fn logout(w: &World, token: &SessionToken) -> Result<bool, Failure> {
    match w.uc.sessions.logout(&signed_in(w, token).await).await {
        Ok(()) => Ok(true),
        Err(SessionError::NotFound) => Ok(false),
        Err(SessionError::Failure(failure)) => Err(failure),
    }
}

/// Changes `user`'s password from raw fields, signed in with the session
/// of `keep` (else without a session, as under Basic), from
/// `client_address`.
async fn change_password(
    w: &World,
    user: &User,
    current: Option<&str>,
    new: Option<&str>,
    keep: Option<&SessionToken>,
    client_address: Option<&str>,
) -> Result<User, ChangePasswordError> {
    let change = PasswordChange::parse(current, new)?;
    let session =
        keep.and_then(|token| w.store.sessions.lock().unwrap().get(&token.key()).cloned());
    let actor = Actor {
        principal: Principal::User {
            user: user.clone(),
            session,
        },
        client: ClientInfo {
            address: client_address.map(str::to_owned),
            ..ClientInfo::default()
        },
    };
    w.uc.passwords.change_password(&actor, change).await
}

/// Ends a session by the handle a client sends, as an operator.
async fn end_session(w: &World, user: &UserId, handle: &str) -> Result<Option<Session>, Failure> {
    let Some(handle) = SessionId::parse(handle) else {
        return Ok(None);
    };
    match w
        .uc
        .sessions
        .end_session(&Actor::operator(), user, handle)
        .await
    {
        Ok(session) => Ok(Some(session)),
        Err(SessionError::NotFound) => Ok(None),
        Err(SessionError::Failure(failure)) => Err(failure),
    }
}

/// The live sessions of `user`, as an operator sees them.
async fn sessions_of(w: &World, user: &UserId) -> Vec<Session> {
    w.uc.sessions
        .sessions(&Actor::operator(), user)
        .await
        .unwrap()
}

/// Deletes a user as an operator; `false` when there was none.
async fn delete(w: &World, id: &UserId) -> bool {
    match w.uc.users.delete_user(&Actor::operator(), id).await {
        Ok(()) => true,
        Err(DeleteUserError::NotFound) => false,
        Err(other) => panic!("{other}"),
    }
}

/// Sets a user's names as an operator; `None` when there is no such user.
async fn update_names(w: &World, id: &UserId, names: NameChange) -> Option<User> {
    let change = UserChange {
        names,
        is_admin: AdminFlagRequest::Absent,
    };
    w.uc.users
        .update_user(&Actor::operator(), id, &change)
        .await
        .ok()
}

async fn bob(w: &World) -> User {
    create_user(
        w,
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
    let (_, token) = login(w, Some("bob@hbtn.io"), Some("H0lberton:School"), &client)
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
        !logout(&w, &token).await.unwrap(),
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
    assert!(logout(&w, &first).await.unwrap());
    assert!(!logout(&w, &first).await.unwrap());
    assert!(user_for_token(&w.auth, &second).await.unwrap().is_some());
}

#[tokio::test]
async fn login_errors_say_what_was_wrong_in_the_flask_order() {
    let w = world(SessionLifetime::Unlimited);
    bob(&w).await;
    let login = |e: Option<&'static str>, p: Option<&'static str>| {
        let w = &w;
        async move { login(w, e, p, &ClientInfo::default()).await.map(|_| ()) }
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
            &w,
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

    login(&w, Some("old@hbtn.io"), Some("pwd"), &ClientInfo::default())
        .await
        .unwrap();
    let stored = w.store.users.lock().unwrap()[0].password_hash.clone();
    assert_eq!(stored, PasswordHash::Argon2id("$argon2id$fake$pwd".into()));
    assert!(
        login(&w, Some("old@hbtn.io"), Some("pwd"), &ClientInfo::default())
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
        &w,
        NewFields {
            email: Some("bob@hbtn.io".into()),
            password: Password::parse("x"),
            ..NewFields::default()
        },
    )
    .await;
    assert!(matches!(again, Err(CreateUserError::DuplicateEmail)));
    assert_eq!(w.uc.housekeeping.user_count().await.unwrap(), 1);
}

#[tokio::test]
async fn create_user_requires_email_then_password() {
    let w = world(SessionLifetime::Unlimited);
    let no_email = create_user(
        &w,
        NewFields {
            password: Password::parse("x"),
            ..NewFields::default()
        },
    )
    .await;
    assert!(matches!(no_email, Err(CreateUserError::EmailMissing)));
    let no_password = create_user(
        &w,
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
    let updated = update_names(
        &w,
        &bob.id,
        NameChange::parse(Some("Bob".into()), None).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(updated.first_name.as_deref(), Some("Bob"));
    assert_eq!(updated.last_name, None);
    assert_eq!(updated.updated_at, bob.updated_at + Duration::seconds(5));
    assert!(
        update_names(&w, &UserId::generate(), NameChange::default())
            .await
            .is_none()
    );
}

#[tokio::test]
async fn deleting_a_user_ends_their_sessions() {
    let w = world(SessionLifetime::Unlimited);
    let bob = bob(&w).await;
    let token = login_bob(&w).await;
    assert!(delete(&w, &bob.id).await);
    assert!(user_for_token(&w.auth, &token).await.unwrap().is_none());
    assert!(w.store.sessions.lock().unwrap().is_empty());
    assert!(!delete(&w, &bob.id).await);
}

#[tokio::test]
async fn pruning_removes_only_expired_sessions() {
    let w = world(SessionLifetime::from_seconds(100));
    bob(&w).await;
    let old = login_bob(&w).await;
    w.clock.advance(Duration::seconds(50));
    let young = login_bob(&w).await;
    w.clock.advance(Duration::seconds(51));
    assert_eq!(w.uc.housekeeping.prune_expired().await.unwrap(), 1);
    assert!(user_for_token(&w.auth, &old).await.unwrap().is_none());
    assert!(user_for_token(&w.auth, &young).await.unwrap().is_some());
}

fn small_throttle() -> Rules {
    Rules {
        session_logins: true,
        sessions: SessionRules::lifetime(SessionLifetime::Unlimited),
        throttle: ThrottleRules {
            account_max_failures: 5,
            account_window: Duration::hours(1),
            address_max_failures: 3,
            backoff: Duration::seconds(60),
        },
        passwords: default_passwords(),
        login_errors: LoginErrors::Compatible,
        access: AccessRules::default(),
    }
}

async fn try_login(w: &World, password: &str, address: &str) -> Result<(), LoginError> {
    let client = ClientInfo {
        address: Some(address.into()),
        user_agent: None,
        request_id: None,
    };
    login(w, Some("bob@hbtn.io"), Some(password), &client)
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
        &w,
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

fn idle_rules(idle: i64) -> Rules {
    Rules {
        session_logins: true,
        sessions: SessionRules {
            lifetime: SessionLifetime::from_seconds(3600),
            idle_timeout: Some(Duration::seconds(idle)),
        },
        throttle: default_throttle(),
        passwords: default_passwords(),
        login_errors: LoginErrors::Compatible,
        access: AccessRules::default(),
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

/// A look-up that saw a stale activity time (a cache on one instance that
/// has not heard the touch another instance wrote) does not refuse the
/// session as idle: the stored row decides.
#[tokio::test]
async fn a_session_idle_only_by_a_stale_activity_time_is_not_refused() {
    let w = world_with(idle_rules(40));
    bob(&w).await;
    let token = login_bob(&w).await;
    let login_time = w.clock.now();
    w.clock.advance(Duration::seconds(30));
    // Another instance records activity now; this one's look-up still
    // sees the login time.
    let touched = w.clock.now();
    for session in w.store.sessions.lock().unwrap().values_mut() {
        session.last_used_at = touched;
    }
    *w.store.stale_activity.lock().unwrap() = Some(login_time);
    w.clock.advance(Duration::seconds(20));
    assert!(
        user_for_token(&w.auth, &token).await.unwrap().is_some(),
        "used 20 s ago, refused for an idle time of 50 s"
    );
    // Really idle: refused.
    w.clock.advance(Duration::seconds(41));
    assert!(user_for_token(&w.auth, &token).await.unwrap().is_none());
}

#[tokio::test]
async fn a_user_lists_and_ends_only_their_own_sessions() {
    let w = world(SessionLifetime::Unlimited);
    let bob = bob(&w).await;
    let alice = create_user(
        &w,
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
        request_id: None,
    };
    let (_, first) = login(&w, Some("bob@hbtn.io"), Some("H0lberton:School"), &client)
        .await
        .unwrap();
    let (_, second) = login(&w, Some("bob@hbtn.io"), Some("H0lberton:School"), &client)
        .await
        .unwrap();
    let (_, alices) = login(&w, Some("alice@hbtn.io"), Some("pw"), &client)
        .await
        .unwrap();

    let listed = sessions_of(&w, &bob.id).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].client_address.as_deref(), Some("10.1.2.3"));
    assert_eq!(listed[0].user_agent.as_deref(), Some("curl/8"));

    let alice_handle = sessions_of(&w, &alice.id).await[0].id.to_string();
    assert!(
        end_session(&w, &bob.id, &alice_handle)
            .await
            .unwrap()
            .is_none(),
        "another user's handle ends nothing"
    );
    assert!(user_for_token(&w.auth, &alices).await.unwrap().is_some());

    assert_eq!(
        w.uc.sessions
            .end_sessions(&signed_in(&w, &second).await, &bob.id, true)
            .await
            .unwrap(),
        1
    );
    assert!(user_for_token(&w.auth, &first).await.unwrap().is_none());
    assert!(user_for_token(&w.auth, &second).await.unwrap().is_some());
    let handle = sessions_of(&w, &bob.id).await[0].id.to_string();
    assert!(end_session(&w, &bob.id, &handle).await.unwrap().is_some());
    assert!(user_for_token(&w.auth, &second).await.unwrap().is_none());
}

#[tokio::test]
async fn changing_the_password_keeps_the_current_session_and_ends_the_others() {
    let w = world(SessionLifetime::Unlimited);
    let bob = bob(&w).await;
    let here = login_bob(&w).await;
    let there = login_bob(&w).await;

    let wrong = change_password(
        &w,
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
        &w,
        &bob,
        Some("H0lberton:School"),
        Some(&too_long),
        Some(&here),
        None,
    )
    .await;
    assert!(matches!(long, Err(ChangePasswordError::Rule(_))));

    change_password(
        &w,
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
            &w,
            Some("bob@hbtn.io"),
            Some("H0lberton:School"),
            &ClientInfo::default()
        )
        .await
        .is_err()
    );
    assert!(
        login(
            &w,
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
    assert_eq!(w.uc.housekeeping.prune_expired().await.unwrap(), 1);
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
        &w,
        Some("bob@hbtn.io"),
        Some("H0lberton:School"),
        &ClientInfo::default(),
    )
    .await;
    assert!(matches!(lost, Err(LoginError::UnknownEmail)), "{lost:?}");
}

fn generic_rules() -> Rules {
    Rules {
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
    let unknown = login(&w, Some("nobody@hbtn.io"), Some("guess"), &client)
        .await
        .unwrap_err();
    assert_eq!(
        verifications(&w),
        before + 1,
        "an unknown email is verified against the decoy hash"
    );
    let wrong = login(&w, Some("bob@hbtn.io"), Some("guess"), &client)
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
    let refused = change_password(&w, &user, Some("nope"), Some("new one"), None, None).await;
    assert!(matches!(refused, Err(ChangePasswordError::WrongPassword)));
}

#[tokio::test]
async fn emails_are_compared_ignoring_case_for_login_and_uniqueness() {
    let w = world(SessionLifetime::Unlimited);
    let bob = bob(&w).await;
    let (found, _) = login(
        &w,
        Some("BOB@Hbtn.IO"),
        Some("H0lberton:School"),
        &ClientInfo::default(),
    )
    .await
    .unwrap();
    assert_eq!(found.id, bob.id);
    let twin = create_user(
        &w,
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
            request_id: None,
        };
        assert!(
            login(&w, Some(email), Some("wrong"), &client)
                .await
                .is_err()
        );
    }
    let client = ClientInfo {
        address: Some("10.0.0.1".into()),
        user_agent: None,
        request_id: None,
    };
    assert!(matches!(
        login(&w, Some("bob@hbtn.io"), Some("H0lberton:School"), &client).await,
        Err(LoginError::TooManyAttempts(_))
    ));
}

#[tokio::test]
async fn a_new_email_must_have_the_documented_syntax_and_missing_fields_keep_the_flask_messages() {
    let w = world(SessionLifetime::Unlimited);
    let refused = create_user(
        &w,
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
        &w,
        NewFields {
            email: Some(String::new()),
            ..NewFields::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(missing.to_string(), "email missing");
    let missing = create_user(
        &w,
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
    let (found, _) = login(&w, Some("BOB"), Some("pw"), &ClientInfo::default())
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
        &w,
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
    let reset =
        w.uc.passwords
            .set_password(
                &Actor::operator(),
                &user.id,
                &Password::parse("weak again").unwrap(),
            )
            .await;
    assert!(matches!(
        reset,
        Err(SetPasswordError::Rule(PasswordRuleError::TooWeak(_)))
    ));
    let change = change_password(
        &w,
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
            &w,
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

#[tokio::test]
async fn the_core_audits_sign_ins_with_the_actor_who_made_them() {
    let w = world(SessionLifetime::Unlimited);
    let bob = bob(&w).await;
    let client = ClientInfo {
        address: Some("192.0.2.7".into()),
        user_agent: None,
        request_id: Some("req-1".into()),
    };
    login(&w, Some("bob@hbtn.io"), Some("wrong"), &client)
        .await
        .unwrap_err();
    let token = login_bob(&w).await;
    assert!(logout(&w, &token).await.unwrap());
    let me = format!("user:{}", bob.id);
    assert_eq!(
        w.audit.names(),
        [
            ("operator".to_owned(), "user_created"),
            ("anonymous".to_owned(), "login_failed"),
            ("anonymous".to_owned(), "login_succeeded"),
            (me, "logout"),
        ]
    );
    let events = w.audit.0.lock().unwrap();
    assert_eq!(
        events[1].1,
        AuditEvent::LoginFailed {
            via: crate::Via::Form,
            email: Some("bob@hbtn.io".into()),
            reason: "wrong password".into(),
        }
    );
    assert_eq!(events[2].1.subject(), Some(&bob.id));
}

#[tokio::test]
async fn operators_changes_are_audited_as_the_operators() {
    let w = world(SessionLifetime::Unlimited);
    let bob = bob(&w).await;
    login_bob(&w).await;
    let operator = Actor::operator();
    let (_, ended) =
        w.uc.passwords
            .set_password(&operator, &bob.id, &Password::parse("N3w:School").unwrap())
            .await
            .unwrap();
    assert_eq!(ended, 1);
    w.uc.admin
        .set_admin(&operator, &bob.id, true)
        .await
        .unwrap();
    // Granting a right already held changes nothing and tells nothing.
    w.uc.admin
        .set_admin(&operator, &bob.id, true)
        .await
        .unwrap();
    assert!(delete(&w, &bob.id).await);
    let names: Vec<_> = w.audit.names().into_iter().skip(2).collect();
    assert_eq!(
        names,
        [
            ("operator".to_owned(), "password_changed"),
            ("operator".to_owned(), "user_promoted"),
            ("operator".to_owned(), "user_deleted"),
        ]
    );
}

#[tokio::test]
async fn under_owner_a_user_is_refused_what_only_administrators_may_do_and_it_is_audited() {
    let w = world_with(Rules {
        access: AccessRules {
            policy: crate::AccessPolicy::Owner,
            registration: crate::Registration::Closed,
        },
        ..small_throttle()
    });
    let bob = bob(&w).await;
    let token = login_bob(&w).await;
    let actor = signed_in(&w, &token).await;
    let new = NewUser::parse(Some("eve@x.io".into()), Some("pw".into()), None, None).unwrap();
    assert!(matches!(
        w.uc.users.create_user(&actor, new).await,
        Err(CreateUserError::Forbidden)
    ));
    assert!(w.uc.admin.set_admin(&actor, &bob.id, true).await.is_err());
    // Only an operator resets a password without the current one.
    assert!(matches!(
        w.uc.passwords
            .set_password(&actor, &bob.id, &Password::parse("x").unwrap())
            .await,
        Err(SetPasswordError::Forbidden)
    ));
    let refused: Vec<_> = w
        .audit
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(who, event)| match event {
            AuditEvent::AdminRefused { action } => Some((who.clone(), *action)),
            _ => None,
        })
        .collect();
    let me = format!("user:{}", bob.id);
    assert_eq!(refused, [(me.clone(), "create_user"), (me, "set_admin")]);
}

#[tokio::test]
async fn a_user_without_a_session_has_no_sessions_to_manage_and_no_one_else_sees_theirs() {
    let w = world(SessionLifetime::Unlimited);
    let bob = bob(&w).await;
    let token = login_bob(&w).await;
    let with_session = signed_in(&w, &token).await;
    let basic = Actor {
        principal: Principal::User {
            user: bob.clone(),
            session: None,
        },
        ..Actor::default()
    };
    assert!(matches!(
        w.uc.sessions.sessions(&basic, &bob.id).await,
        Err(SessionError::NotFound)
    ));
    assert!(matches!(
        w.uc.sessions.logout(&basic).await,
        Err(SessionError::NotFound)
    ));
    assert!(matches!(
        w.uc.sessions.sessions(&Actor::default(), &bob.id).await,
        Err(SessionError::NotFound)
    ));
    assert_eq!(
        w.uc.sessions
            .sessions(&with_session, &bob.id)
            .await
            .unwrap()
            .len(),
        1
    );
    // Keeping one's own session: nothing else to end.
    assert_eq!(
        w.uc.sessions
            .end_sessions(&with_session, &bob.id, true)
            .await
            .unwrap(),
        0
    );
    assert!(user_for_token(&w.auth, &token).await.unwrap().is_some());
}

mod recovery;
