//! Password reset by mail over the fakes: one answer whatever the email,
//! single-use live tokens, sessions ended, limits, audit.

use super::*;
use crate::recovery::{RecoveryKey, RecoveryPurpose, RecoveryTicket, RecoveryTokenRepository};
use crate::{
    INVALID_RESET_TOKEN, Mail, MailError, Mailer, RecoveryPorts, RecoveryRules, RequestResetError,
    ResetPasswordError,
};

#[derive(Default)]
struct FakeTickets(Mutex<HashMap<RecoveryKey, RecoveryTicket>>);

#[async_trait]
impl RecoveryTokenRepository for FakeTickets {
    async fn insert_ticket(&self, ticket: &RecoveryTicket) -> Result<(), RepositoryError> {
        self.0
            .lock()
            .unwrap()
            .insert(ticket.key.clone(), ticket.clone());
        Ok(())
    }
    async fn find_ticket(
        &self,
        key: &RecoveryKey,
    ) -> Result<Option<RecoveryTicket>, RepositoryError> {
        Ok(self.0.lock().unwrap().get(key).cloned())
    }
    async fn take_ticket(&self, key: &RecoveryKey) -> Result<bool, RepositoryError> {
        Ok(self.0.lock().unwrap().remove(key).is_some())
    }
    async fn delete_tickets_of(
        &self,
        user: &UserId,
        purpose: RecoveryPurpose,
    ) -> Result<u64, RepositoryError> {
        let mut all = self.0.lock().unwrap();
        let before = all.len();
        all.retain(|_, t| !(t.user_id == *user && t.purpose == purpose));
        Ok((before - all.len()) as u64)
    }
    async fn delete_expired_tickets(&self, now: DateTime<Utc>) -> Result<u64, RepositoryError> {
        let mut all = self.0.lock().unwrap();
        let before = all.len();
        all.retain(|_, t| t.is_live(now));
        Ok((before - all.len()) as u64)
    }
}

/// Keeps every mail handed to it.
#[derive(Default)]
struct Outbox(Mutex<Vec<Mail>>);

impl Mailer for Outbox {
    fn send(&self, mail: Mail) -> Result<(), MailError> {
        self.0.lock().unwrap().push(mail);
        Ok(())
    }
}

impl Outbox {
    fn tokens(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|mail| match mail {
                Mail::PasswordReset { token, .. } => token.expose().to_owned(),
            })
            .collect()
    }
}

struct Recovery {
    w: World,
    tickets: Arc<FakeTickets>,
    outbox: Arc<Outbox>,
    uc: UseCases,
}

fn recovery_rules() -> RecoveryRules {
    RecoveryRules {
        reset_lifetime: Duration::minutes(30),
        per_address: 20,
        per_account: 5,
        window: Duration::hours(1),
    }
}

fn recovery_with(rules: RecoveryRules) -> Recovery {
    let w = world(SessionLifetime::Unlimited);
    let tickets = Arc::new(FakeTickets::default());
    let outbox = Arc::new(Outbox::default());
    let ports = Ports {
        users: w.store.clone(),
        sessions: w.store.clone(),
        attempts: w.attempts.clone(),
        hasher: w.hasher.clone(),
        clock: w.clock.clone(),
        tokens: Arc::new(CountingTokens(Mutex::new(100))),
        strength: None,
        audit: w.audit.clone(),
    };
    let base = Rules {
        session_logins: true,
        sessions: SessionRules::lifetime(SessionLifetime::Unlimited),
        throttle: default_throttle(),
        passwords: PasswordRules {
            min_length: 8,
            max_length: 128,
        },
        login_errors: LoginErrors::Compatible,
        access: AccessRules::default(),
    };
    let (uc, _) = UseCases::wire(&ports, &base);
    let uc = uc.with_recovery(
        &ports,
        &base,
        RecoveryPorts {
            tickets: tickets.clone(),
            mailer: outbox.clone(),
        },
        rules,
    );
    Recovery {
        w,
        tickets,
        outbox,
        uc,
    }
}

fn client(address: &str) -> Actor {
    from(&ClientInfo {
        address: Some(address.into()),
        ..ClientInfo::default()
    })
}

async fn with_user(r: &Recovery) -> User {
    create_user(
        &r.w,
        NewFields {
            email: Some("bob@x.io".into()),
            password: Password::parse("old secret"),
            ..NewFields::default()
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn known_and_unknown_emails_are_answered_alike_and_only_the_known_one_is_mailed() {
    let r = recovery_with(recovery_rules());
    with_user(&r).await;
    let hashed = || r.w.hasher.hashes.load(std::sync::atomic::Ordering::SeqCst);
    let before = hashed();
    let actor = client("10.0.0.1");
    let known = r.uc.recovery.request_reset(&actor, Some("BOB@x.io")).await;
    let unknown = r.uc.recovery.request_reset(&actor, Some("eve@x.io")).await;
    let invalid =
        r.uc.recovery
            .request_reset(&actor, Some("not an email"))
            .await;
    assert!(known.is_ok() && unknown.is_ok() && invalid.is_ok());
    // No hash work either way; one mail, to the account's own address.
    assert_eq!(verifications(&r.w), 0);
    assert_eq!(hashed(), before);
    let sent = r.outbox.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to().as_str(), "bob@x.io");
    assert_eq!(r.tickets.0.lock().unwrap().len(), 1);
    // The stored key is the token's digest, never the token.
    let token = &r.outbox.tokens()[0];
    let stored = r.tickets.0.lock().unwrap();
    let ticket = stored.values().next().unwrap();
    assert_ne!(ticket.key.as_str(), token);
    assert_eq!(ticket.expires_at - ticket.created_at, Duration::minutes(30));
}

#[tokio::test]
async fn a_reset_sets_the_password_ends_every_session_and_works_once() {
    let r = recovery_with(recovery_rules());
    let user = with_user(&r).await;
    let phone = ClientInfo::default();
    login(&r.w, Some("bob@x.io"), Some("old secret"), &phone)
        .await
        .unwrap();
    login(&r.w, Some("bob@x.io"), Some("old secret"), &phone)
        .await
        .unwrap();
    let actor = client("10.0.0.1");
    r.uc.recovery
        .request_reset(&actor, Some("bob@x.io"))
        .await
        .unwrap();
    let token = r.outbox.tokens().remove(0);
    r.uc.recovery
        .reset_password(&actor, Some(&token), Some("new secret"))
        .await
        .unwrap();
    assert!(r.w.store.sessions.lock().unwrap().is_empty());
    assert!(
        login(&r.w, Some("bob@x.io"), Some("new secret"), &phone)
            .await
            .is_ok()
    );
    assert!(matches!(
        login(&r.w, Some("bob@x.io"), Some("old secret"), &phone).await,
        Err(LoginError::WrongPassword)
    ));
    let again =
        r.uc.recovery
            .reset_password(&actor, Some(&token), Some("third secret"))
            .await;
    assert!(matches!(again, Err(ResetPasswordError::InvalidToken)));
    assert_eq!(
        again.unwrap_err().to_string(),
        INVALID_RESET_TOKEN,
        "one documented message"
    );
    let events = r.w.audit.0.lock().unwrap().clone();
    assert!(events.iter().any(|(_, e)| *e
        == AuditEvent::PasswordReset {
            user: user.id,
            sessions_ended: 2
        }));
    assert!(
        events
            .iter()
            .any(|(_, e)| *e == AuditEvent::PasswordResetRefused)
    );
}

#[tokio::test]
async fn an_expired_token_gets_the_same_answer_as_a_used_or_unknown_one() {
    let r = recovery_with(recovery_rules());
    with_user(&r).await;
    let actor = client("10.0.0.1");
    r.uc.recovery
        .request_reset(&actor, Some("bob@x.io"))
        .await
        .unwrap();
    let token = r.outbox.tokens().remove(0);
    r.w.clock.advance(Duration::minutes(30));
    let expired =
        r.uc.recovery
            .reset_password(&actor, Some(&token), Some("new secret"))
            .await;
    let unknown =
        r.uc.recovery
            .reset_password(&actor, Some("no-such-token"), Some("new secret"))
            .await;
    assert!(matches!(expired, Err(ResetPasswordError::InvalidToken)));
    assert!(matches!(unknown, Err(ResetPasswordError::InvalidToken)));
    // The sweeper removes the expired ticket.
    r.uc.housekeeping.prune_expired().await.unwrap();
    assert!(r.tickets.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_password_the_rules_refuse_leaves_the_token_usable() {
    let r = recovery_with(recovery_rules());
    with_user(&r).await;
    let actor = client("10.0.0.1");
    r.uc.recovery
        .request_reset(&actor, Some("bob@x.io"))
        .await
        .unwrap();
    let token = r.outbox.tokens().remove(0);
    let short =
        r.uc.recovery
            .reset_password(&actor, Some(&token), Some("short"))
            .await;
    assert!(matches!(
        short,
        Err(ResetPasswordError::Rule(PasswordRuleError::TooShort(8)))
    ));
    assert!(
        r.uc.recovery
            .reset_password(&actor, Some(&token), Some("long enough"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn missing_fields_are_named_in_order() {
    let r = recovery_with(recovery_rules());
    let actor = client("10.0.0.1");
    assert!(matches!(
        r.uc.recovery.request_reset(&actor, Some(" ")).await,
        Err(RequestResetError::EmailMissing)
    ));
    assert!(matches!(
        r.uc.recovery.reset_password(&actor, None, None).await,
        Err(ResetPasswordError::TokenMissing)
    ));
    assert!(matches!(
        r.uc.recovery
            .reset_password(&actor, Some("t"), Some(""))
            .await,
        Err(ResetPasswordError::PasswordMissing)
    ));
}

#[tokio::test]
async fn requests_past_the_limits_are_answered_alike_and_send_nothing() {
    let r = recovery_with(RecoveryRules {
        per_account: 2,
        per_address: 3,
        ..recovery_rules()
    });
    with_user(&r).await;
    // Per account: a third request for bob, from anywhere, sends nothing.
    for address in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
        r.uc.recovery
            .request_reset(&client(address), Some("bob@x.io"))
            .await
            .unwrap();
    }
    assert_eq!(r.outbox.tokens().len(), 2);
    // Per address: the fourth request from one address, whatever the email.
    let r = recovery_with(RecoveryRules {
        per_account: 5,
        per_address: 3,
        ..recovery_rules()
    });
    with_user(&r).await;
    let actor = client("10.0.0.9");
    for email in ["a@x.io", "b@x.io", "c@x.io", "bob@x.io"] {
        r.uc.recovery
            .request_reset(&actor, Some(email))
            .await
            .unwrap();
    }
    assert!(r.outbox.tokens().is_empty());
    assert!(
        r.w.audit
            .names()
            .contains(&("anonymous".into(), "password_reset_throttled"))
    );
    // The limits never touch a login's.
    assert!(
        login(&r.w, Some("bob@x.io"), Some("old secret"), &actor.client)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn without_a_mailer_recovery_is_off() {
    let w = world(SessionLifetime::Unlimited);
    assert!(!w.uc.recovery.enabled());
    assert!(matches!(
        w.uc.recovery
            .request_reset(&Actor::default(), Some("bob@x.io"))
            .await,
        Err(RequestResetError::Disabled)
    ));
}
