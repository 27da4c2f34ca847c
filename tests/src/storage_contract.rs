//! The storage contract: one suite of checks that every storage adapter
//! must pass, whatever it stores data in.
//!
//! Each check is a `pub async fn` taking fresh, empty [`Stores`] and
//! returning what the storage must hold afterwards ([`Expected`]). The
//! runner ([`run`]) verifies that through the ports, and, for storage that
//! outlives its handles (files, databases), verifies it again after opening
//! the storage anew: that is what proves a change was durable.
//!
//! An adapter joins the suite by implementing [`Backend`] in a test file
//! and invoking [`storage_contract_tests!`](crate::storage_contract_tests),
//! which generates one `#[tokio::test]` per check, named after it:
//!
//! ```ignore
//! struct Memory;
//! impl integration_tests::storage_contract::Backend for Memory { /* … */ }
//! integration_tests::storage_contract_tests!(Memory);
//! ```
//!
//! The checks know nothing about any adapter; every session belongs to a
//! stored user, so a store enforcing that (a foreign key) passes too.
//!
//! The failed-login log ([`AttemptLog`](domain::AttemptLog)) has a smaller
//! contract of its own in [`attempt_log`], joined the same way through
//! [`attempt_log::AttemptBackend`] and
//! [`attempt_log_contract_tests!`](crate::attempt_log_contract_tests).

use chrono::{DateTime, TimeZone, Utc};
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use domain::{
    Email, NameChange, Password, PasswordHash, RepositoryError, Session, SessionId, SessionKey,
    SessionRepository, User, UserId, UserRepository,
};

/// Both storage ports over one backend, as the composition root hands them
/// to the services.
#[derive(Clone)]
pub struct Stores {
    /// The users port.
    pub users: Arc<dyn UserRepository>,
    /// The sessions port, sharing the users port's backend.
    pub sessions: Arc<dyn SessionRepository>,
}

/// A storage implementation under test.
pub trait Backend: Sized {
    /// A fresh, empty storage, and the ports over it. `Self` keeps whatever
    /// must outlive the ports (a temporary directory, a database name).
    fn create() -> impl Future<Output = (Self, Stores)>;

    /// The ports over the same storage opened anew, once every handle
    /// returned before has been dropped; `None` for storage that does not
    /// outlive its handles (process memory).
    fn reopen(&self) -> impl Future<Output = Option<Stores>>;
}

/// What a storage must hold once a check is done.
#[derive(Debug, Default)]
pub struct Expected {
    /// Every user, in listing order.
    pub users: Vec<User>,
    /// Sessions that must be found, as they are.
    pub sessions: Vec<Session>,
    /// Keys that must find no session.
    pub gone: Vec<SessionKey>,
}

impl Expected {
    /// Asserts, through the ports, that `stores` hold exactly this.
    pub async fn verify(&self, stores: &Stores) {
        assert_eq!(ok(stores.users.list().await), self.users, "listed users");
        assert_eq!(ok(stores.users.count().await), self.users.len() as u64);
        for user in &self.users {
            assert_eq!(ok(stores.users.get(&user.id).await).as_ref(), Some(user));
            assert_eq!(
                ok(stores.users.find_by_email(&user.email).await).as_ref(),
                Some(user)
            );
        }
        for session in &self.sessions {
            assert_eq!(
                ok(stores.sessions.find(&session.key).await).as_ref(),
                Some(session)
            );
        }
        for key in &self.gone {
            assert_eq!(ok(stores.sessions.find(key).await), None, "{key:?}");
        }
    }
}

/// Runs `check` on a fresh `B` and verifies what it expects, before and,
/// when `B` persists, after reopening the storage.
pub async fn run<B, F, Fut>(check: F)
where
    B: Backend,
    F: FnOnce(Stores) -> Fut,
    Fut: Future<Output = Expected>,
{
    let (backend, stores) = B::create().await;
    let expected = check(stores.clone()).await;
    expected.verify(&stores).await;
    // Storage that locks itself (a data directory) can only be opened
    // again once every handle is gone.
    drop(stores);
    if let Some(reopened) = backend.reopen().await {
        expected.verify(&reopened).await;
    }
}

/// Generates one `#[tokio::test]` per contract check, each named after its
/// check, running it against the [`Backend`] type given.
///
/// The invoking crate needs `tokio` (with `macros` and `rt-multi-thread`).
#[macro_export]
macro_rules! storage_contract_tests {
    ($backend:ty) => {
        $crate::storage_contract_tests!(
            @checks $backend;
            users_are_found_by_email_and_by_id,
            emails_are_found_ignoring_case,
            legacy_emails_differing_only_in_case_follow_the_exact_then_single_rule,
            a_new_email_equal_but_for_case_is_refused_on_insert_and_update,
            racing_creations_of_one_email_in_two_cases_store_one,
            users_are_listed_in_creation_order_and_counted,
            stored_users_keep_every_field,
            update_changes_names_and_email,
            update_names_changes_only_the_names_given,
            a_password_hash_is_replaced_only_over_the_expected_one,
            update_of_an_absent_user_returns_false_and_stores_nothing,
            delete_returns_true_then_false_and_removes_the_users_sessions,
            deleting_a_user_keeps_other_users_sessions,
            duplicate_email_on_insert_is_refused_and_changes_nothing,
            duplicate_id_on_insert_is_refused_as_such_and_changes_nothing,
            duplicate_email_on_update_is_refused_and_changes_nothing,
            sessions_are_inserted_found_and_deleted,
            delete_by_user_removes_only_that_users_sessions_and_counts_them,
            session_activity_and_client_fields_round_trip_exactly,
            touch_records_activity_only_and_is_false_for_an_unknown_key,
            list_by_user_lists_only_that_users_sessions_oldest_first,
            delete_by_user_with_an_exception_keeps_exactly_that_session,
            delete_expired_by_creation_removes_only_sessions_created_before,
            delete_expired_by_last_use_removes_only_sessions_idle_since_before,
            delete_expired_by_both_removes_sessions_past_either_limit,
            delete_expired_without_limits_deletes_nothing,
            concurrent_writers_lose_nothing,
            the_admin_flag_is_stored_and_can_be_changed,
            the_last_administrator_keeps_the_right,
            concurrent_revocations_leave_an_administrator,
        );
    };
    (@checks $backend:ty; $($check:ident),* $(,)?) => {
        $(
            // Several workers, so concurrent writers really run in parallel.
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                $crate::storage_contract::run::<$backend, _, _>(
                    $crate::storage_contract::$check,
                )
                .await;
            }
        )*
    };
}

// ---------------------------------------------------------------- fixtures

fn ok<T>(result: Result<T, RepositoryError>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("storage failed: {e:?}"),
    }
}

/// Noon on day `day` of January 2024: whole seconds, as storage keeps them.
fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, day, 12, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("January {day} is not a date"))
}

fn email(text: &str) -> Email {
    Email::parse(text).unwrap_or_else(|| panic!("{text:?} is not an email"))
}

fn password(text: &str) -> Password {
    Password::parse(text).unwrap_or_else(|| panic!("empty password"))
}

fn user(address: &str) -> User {
    let password = Password::parse(format!("password of {address}"))
        .unwrap_or_else(|| panic!("empty password"));
    User {
        id: UserId::generate(),
        email: email(address),
        password_hash: PasswordHash::legacy_sha256_of(&password),
        first_name: Some("First".to_owned()),
        last_name: Some("Last".to_owned()),
        created_at: at(1),
        updated_at: at(1),
        is_admin: false,
    }
}

fn admin(address: &str) -> User {
    User {
        is_admin: true,
        ..user(address)
    }
}

/// A session created (and last used) at noon on January `created_on`,
/// with no client details.
fn session(user_id: UserId, token: &str, created_on: u32) -> Session {
    Session {
        id: SessionId::generate(),
        key: SessionKey::digest_of(token),
        user_id,
        created_at: at(created_on),
        updated_at: at(created_on),
        last_used_at: at(created_on),
        client_address: None,
        user_agent: None,
    }
}

/// A session created on January `created_on` and last used on `used_on`.
fn used_session(user_id: UserId, token: &str, created_on: u32, used_on: u32) -> Session {
    Session {
        last_used_at: at(used_on),
        ..session(user_id, token, created_on)
    }
}

fn keys(sessions: &[Session]) -> Vec<SessionKey> {
    sessions.iter().map(|s| s.key.clone()).collect()
}

async fn insert_user(stores: &Stores, user: &User) {
    ok(stores.users.insert(user).await);
}

async fn insert_session(stores: &Stores, session: &Session) {
    ok(stores.sessions.insert(session).await);
}

fn assert_duplicate<T: std::fmt::Debug>(result: Result<T, RepositoryError>) {
    assert!(
        matches!(result, Err(RepositoryError::DuplicateEmail)),
        "expected DuplicateEmail, got {result:?}"
    );
}

// ----------------------------------------------------------------- checks

/// A stored user is found by id and by email; absent ones are `None`.
pub async fn users_are_found_by_email_and_by_id(stores: Stores) -> Expected {
    let alice = user("alice@example.com");
    let bob = user("bob@example.com");
    insert_user(&stores, &alice).await;
    insert_user(&stores, &bob).await;

    assert_eq!(ok(stores.users.get(&alice.id).await), Some(alice.clone()));
    assert_eq!(
        ok(stores.users.find_by_email(&bob.email).await),
        Some(bob.clone())
    );
    assert_eq!(ok(stores.users.get(&UserId::generate()).await), None);
    assert_eq!(
        ok(stores
            .users
            .find_by_email(&email("carol@example.com"))
            .await),
        None
    );
    Expected {
        users: vec![alice, bob],
        ..Expected::default()
    }
}

/// An email finds its user whatever the case of its ASCII letters; other
/// letters are compared exactly.
pub async fn emails_are_found_ignoring_case(stores: Stores) -> Expected {
    let dana = user("dana@example.com");
    let emile = user("Émile@Example.com");
    insert_user(&stores, &dana).await;
    insert_user(&stores, &emile).await;
    for typed in ["DANA@EXAMPLE.COM", "Dana@Example.com", "dana@example.com"] {
        assert_eq!(
            ok(stores.users.find_by_email(&email(typed)).await),
            Some(dana.clone()),
            "{typed}"
        );
    }
    assert_eq!(
        ok(stores
            .users
            .find_by_email(&email("Émile@EXAMPLE.COM"))
            .await),
        Some(emile.clone())
    );
    assert_eq!(
        ok(stores
            .users
            .find_by_email(&email("émile@example.com"))
            .await),
        None,
        "only ASCII letters are folded"
    );
    Expected {
        users: vec![dana, emile],
        ..Expected::default()
    }
}

/// Existing data (the Flask API's, imported) may hold emails that differ
/// only in case: both are stored, each logs in with its own email exactly,
/// and an email matching both but neither exactly names no one; once one
/// is gone, the other is the single match.
pub async fn legacy_emails_differing_only_in_case_follow_the_exact_then_single_rule(
    stores: Stores,
) -> Expected {
    let lower = user("dana@example.com");
    let upper = user("Dana@Example.com");
    let legacy = user("not-an-email");
    for u in [&lower, &upper, &legacy] {
        ok(stores.users.insert_imported(u).await);
    }
    assert_duplicate(
        stores
            .users
            .insert_imported(&user("Dana@Example.com"))
            .await,
    );
    assert_eq!(
        ok(stores.users.find_by_email(&lower.email).await),
        Some(lower.clone())
    );
    assert_eq!(
        ok(stores.users.find_by_email(&upper.email).await),
        Some(upper.clone())
    );
    assert_eq!(
        ok(stores.users.find_by_email(&email("DANA@EXAMPLE.COM")).await),
        None,
        "two users match ignoring case and neither exactly"
    );
    assert_eq!(
        ok(stores.users.find_by_email(&email("NOT-AN-EMAIL")).await),
        Some(legacy.clone())
    );
    // A new account is refused whichever of them it resembles.
    assert_duplicate(stores.users.insert(&user("DANA@example.com")).await);
    assert!(ok(stores.users.delete(&upper.id).await));
    assert_eq!(
        ok(stores.users.find_by_email(&email("DANA@EXAMPLE.COM")).await),
        Some(lower.clone())
    );
    Expected {
        users: vec![lower, legacy],
        ..Expected::default()
    }
}

/// A new account's email, or a changed email, equal to another user's but
/// for case is a duplicate; a user may change the case of their own.
pub async fn a_new_email_equal_but_for_case_is_refused_on_insert_and_update(
    stores: Stores,
) -> Expected {
    let erin = user("erin@example.com");
    let frank = user("frank@example.com");
    insert_user(&stores, &erin).await;
    insert_user(&stores, &frank).await;
    assert_duplicate(stores.users.insert(&user("ERIN@example.com")).await);
    let mut taking = frank.clone();
    taking.email = email("Erin@Example.com");
    assert_duplicate(stores.users.update(&taking).await);
    let mut recased = erin.clone();
    recased.email = email("Erin@Example.com");
    assert!(ok(stores.users.update(&recased).await));
    assert_eq!(
        ok(stores.users.find_by_email(&email("erin@example.com")).await),
        Some(recased.clone())
    );
    Expected {
        users: vec![recased, frank],
        ..Expected::default()
    }
}

/// Two creations of one email in two cases, racing: exactly one is stored,
/// the other is a duplicate.
pub async fn racing_creations_of_one_email_in_two_cases_store_one(stores: Stores) -> Expected {
    let mut winners = Vec::new();
    for round in 0..8 {
        let a = user(&format!("race{round}@example.com"));
        let b = user(&format!("RACE{round}@example.com"));
        let racer = |u: &User| {
            let users = stores.users.clone();
            let u = u.clone();
            tokio::spawn(async move { users.insert(&u).await })
        };
        let (first, second) = (racer(&a), racer(&b));
        let outcomes = (
            first.await.unwrap_or_else(|e| panic!("{e}")),
            second.await.unwrap_or_else(|e| panic!("{e}")),
        );
        match outcomes {
            (Ok(()), Err(RepositoryError::DuplicateEmail)) => winners.push(a),
            (Err(RepositoryError::DuplicateEmail), Ok(())) => winners.push(b),
            other => panic!("round {round}: expected one stored and one duplicate, got {other:?}"),
        }
    }
    Expected {
        users: winners,
        ..Expected::default()
    }
}

/// Users list in creation order, also after one in the middle is deleted.
pub async fn users_are_listed_in_creation_order_and_counted(stores: Stores) -> Expected {
    assert_eq!(ok(stores.users.list().await), []);
    assert_eq!(ok(stores.users.count().await), 0);

    let mut users: Vec<User> = (0..5)
        .map(|i| user(&format!("user{i}@example.com")))
        .collect();
    for u in &users {
        insert_user(&stores, u).await;
    }
    assert_eq!(ok(stores.users.list().await), users);
    assert_eq!(ok(stores.users.count().await), 5);

    let middle = users.remove(2);
    assert!(ok(stores.users.delete(&middle.id).await));
    assert_eq!(ok(stores.users.list().await), users);
    assert_eq!(ok(stores.users.count().await), 4);
    Expected {
        users,
        ..Expected::default()
    }
}

/// Every kind of password hash, absent names, quotes and non-ASCII text
/// come back exactly as stored.
pub async fn stored_users_keep_every_field(stores: Stores) -> Expected {
    let hashes = [
        PasswordHash::parse("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"),
        PasswordHash::parse("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
    ];
    let mut users = Vec::new();
    for (i, hash) in hashes.into_iter().enumerate() {
        let mut u = user(&format!("kind{i}@example.com"));
        u.password_hash = hash.unwrap_or_else(|e| panic!("fixture hash {i}: {e}"));
        users.push(u);
    }
    let mut unusable = user("no-password@example.com");
    unusable.password_hash = PasswordHash::Unusable;
    unusable.first_name = None;
    unusable.last_name = None;
    users.push(unusable);
    let mut odd = user("Zoë \"quoted\" <odd>@example.com");
    odd.first_name = Some("Zoë \\ \"Z\"".to_owned());
    odd.last_name = Some(String::new());
    odd.updated_at = at(20);
    users.push(odd);

    for u in &users {
        insert_user(&stores, u).await;
        assert_eq!(ok(stores.users.get(&u.id).await).as_ref(), Some(u));
    }
    let mut renewed = session(users[0].id, "renewed", 2);
    renewed.updated_at = at(5);
    insert_session(&stores, &renewed).await;
    assert_eq!(
        ok(stores.sessions.find(&renewed.key).await),
        Some(renewed.clone())
    );
    Expected {
        users,
        sessions: vec![renewed],
        gone: vec![],
    }
}

/// An update replaces names and email; the old email finds nobody and is
/// free for another user.
pub async fn update_changes_names_and_email(stores: Stores) -> Expected {
    let alice = user("alice@example.com");
    insert_user(&stores, &alice).await;

    let mut changed = alice.clone();
    changed.email = email("alice@new.example.com");
    changed.first_name = Some("Alicia".to_owned());
    changed.last_name = None;
    changed.updated_at = at(9);
    assert!(ok(stores.users.update(&changed).await));

    assert_eq!(ok(stores.users.get(&alice.id).await), Some(changed.clone()));
    assert_eq!(
        ok(stores.users.find_by_email(&changed.email).await),
        Some(changed.clone())
    );
    assert_eq!(ok(stores.users.find_by_email(&alice.email).await), None);

    let newcomer = user("alice@example.com");
    insert_user(&stores, &newcomer).await;
    Expected {
        users: vec![changed, newcomer],
        ..Expected::default()
    }
}

/// Changing names sets only the names given and `updated_at`: a password
/// hash replaced in between is kept (no write from a stale copy).
pub async fn update_names_changes_only_the_names_given(stores: Stores) -> Expected {
    let alice = user("alice@example.com");
    insert_user(&stores, &alice).await;
    let new_hash = PasswordHash::legacy_sha256_of(&password("changed meanwhile"));
    assert!(ok(stores
        .users
        .replace_password_hash(&alice.id, &alice.password_hash, &new_hash, None)
        .await));

    let names = NameChange {
        first_name: Some("Alicia".to_owned()),
        last_name: None,
    };
    let renamed = ok(stores.users.update_names(&alice.id, &names, at(9)).await);
    let expected = User {
        first_name: Some("Alicia".to_owned()),
        password_hash: new_hash,
        updated_at: at(9),
        ..alice.clone()
    };
    assert_eq!(renamed, Some(expected.clone()));
    assert_eq!(
        ok(stores.users.get(&alice.id).await),
        Some(expected.clone())
    );
    assert_eq!(
        ok(stores
            .users
            .update_names(&UserId::generate(), &names, at(9))
            .await),
        None,
        "an unknown id changes nobody"
    );
    Expected {
        users: vec![expected],
        ..Expected::default()
    }
}

/// A password hash is replaced only while it is still the one the caller
/// verified: a second change from the same stale hash is refused.
pub async fn a_password_hash_is_replaced_only_over_the_expected_one(stores: Stores) -> Expected {
    let alice = user("alice@example.com");
    insert_user(&stores, &alice).await;
    let first = PasswordHash::legacy_sha256_of(&password("first"));
    let second = PasswordHash::legacy_sha256_of(&password("second"));

    assert!(ok(stores
        .users
        .replace_password_hash(&alice.id, &alice.password_hash, &first, Some(at(5)))
        .await));
    assert!(
        !ok(stores
            .users
            .replace_password_hash(&alice.id, &alice.password_hash, &second, Some(at(6)))
            .await),
        "the stale hash no longer matches"
    );
    assert!(!ok(stores
        .users
        .replace_password_hash(&UserId::generate(), &first, &second, None)
        .await));
    let expected = User {
        password_hash: first,
        updated_at: at(5),
        ..alice.clone()
    };
    assert_eq!(
        ok(stores.users.get(&alice.id).await),
        Some(expected.clone())
    );
    Expected {
        users: vec![expected],
        ..Expected::default()
    }
}

/// Updating an id nobody has is `false` and creates nobody.
pub async fn update_of_an_absent_user_returns_false_and_stores_nothing(stores: Stores) -> Expected {
    let alice = user("alice@example.com");
    insert_user(&stores, &alice).await;
    let ghost = user("ghost@example.com");

    assert!(!ok(stores.users.update(&ghost).await));
    assert_eq!(ok(stores.users.get(&ghost.id).await), None);
    assert_eq!(ok(stores.users.find_by_email(&ghost.email).await), None);
    Expected {
        users: vec![alice],
        ..Expected::default()
    }
}

/// Deleting a user is `true` once, then `false`; their sessions and email
/// go with them.
pub async fn delete_returns_true_then_false_and_removes_the_users_sessions(
    stores: Stores,
) -> Expected {
    let alice = user("alice@example.com");
    insert_user(&stores, &alice).await;
    let sessions = [session(alice.id, "a1", 1), session(alice.id, "a2", 2)];
    for s in &sessions {
        insert_session(&stores, s).await;
    }

    assert!(ok(stores.users.delete(&alice.id).await));
    assert_eq!(ok(stores.users.get(&alice.id).await), None);
    assert_eq!(ok(stores.users.find_by_email(&alice.email).await), None);
    for s in &sessions {
        assert_eq!(ok(stores.sessions.find(&s.key).await), None);
    }
    assert!(!ok(stores.users.delete(&alice.id).await));

    let successor = user("alice@example.com");
    insert_user(&stores, &successor).await;
    Expected {
        users: vec![successor],
        sessions: vec![],
        gone: sessions.iter().map(|s| s.key.clone()).collect(),
    }
}

/// Deleting one user leaves every other user's sessions alone.
pub async fn deleting_a_user_keeps_other_users_sessions(stores: Stores) -> Expected {
    let alice = user("alice@example.com");
    let bob = user("bob@example.com");
    insert_user(&stores, &alice).await;
    insert_user(&stores, &bob).await;
    let of_alice = session(alice.id, "alice's", 1);
    let of_bob = [session(bob.id, "bob's 1", 1), session(bob.id, "bob's 2", 2)];
    insert_session(&stores, &of_alice).await;
    for s in &of_bob {
        insert_session(&stores, s).await;
    }

    assert!(ok(stores.users.delete(&alice.id).await));
    for s in &of_bob {
        assert_eq!(ok(stores.sessions.find(&s.key).await).as_ref(), Some(s));
    }
    Expected {
        users: vec![bob],
        sessions: of_bob.to_vec(),
        gone: vec![of_alice.key],
    }
}

/// Inserting a second user with a taken id is refused as a duplicate id (not
/// a duplicate email) and stores nothing.
pub async fn duplicate_id_on_insert_is_refused_as_such_and_changes_nothing(
    stores: Stores,
) -> Expected {
    let alice = user("alice@example.com");
    insert_user(&stores, &alice).await;
    let mut twin = user("twin@example.com");
    twin.id = alice.id;

    let result = stores.users.insert(&twin).await;
    assert!(
        matches!(result, Err(RepositoryError::DuplicateId)),
        "expected DuplicateId, got {result:?}"
    );
    assert_eq!(ok(stores.users.find_by_email(&twin.email).await), None);
    assert_eq!(ok(stores.users.get(&alice.id).await), Some(alice.clone()));
    Expected {
        users: vec![alice],
        ..Expected::default()
    }
}

/// Inserting a second user with a taken email fails and stores nothing.
pub async fn duplicate_email_on_insert_is_refused_and_changes_nothing(stores: Stores) -> Expected {
    let alice = user("alice@example.com");
    insert_user(&stores, &alice).await;
    let mut impostor = user("alice@example.com");
    impostor.first_name = Some("Impostor".to_owned());

    assert_duplicate(stores.users.insert(&impostor).await);
    assert_eq!(ok(stores.users.get(&impostor.id).await), None);
    assert_eq!(
        ok(stores.users.find_by_email(&alice.email).await),
        Some(alice.clone())
    );
    Expected {
        users: vec![alice],
        ..Expected::default()
    }
}

/// Updating a user to another user's email fails and changes neither.
pub async fn duplicate_email_on_update_is_refused_and_changes_nothing(stores: Stores) -> Expected {
    let alice = user("alice@example.com");
    let bob = user("bob@example.com");
    insert_user(&stores, &alice).await;
    insert_user(&stores, &bob).await;

    let mut taking = bob.clone();
    taking.email = alice.email.clone();
    taking.first_name = Some("Changed".to_owned());
    assert_duplicate(stores.users.update(&taking).await);

    assert_eq!(ok(stores.users.get(&bob.id).await), Some(bob.clone()));
    assert_eq!(
        ok(stores.users.find_by_email(&bob.email).await),
        Some(bob.clone())
    );
    assert_eq!(
        ok(stores.users.find_by_email(&alice.email).await),
        Some(alice.clone())
    );
    Expected {
        users: vec![alice, bob],
        ..Expected::default()
    }
}

/// Sessions are found by key once inserted; deleting is `true` once, then
/// `false`, and touches no other session.
pub async fn sessions_are_inserted_found_and_deleted(stores: Stores) -> Expected {
    let alice = user("alice@example.com");
    insert_user(&stores, &alice).await;
    let first = session(alice.id, "first", 1);
    let second = session(alice.id, "second", 2);
    insert_session(&stores, &first).await;
    insert_session(&stores, &second).await;

    assert_eq!(
        ok(stores.sessions.find(&first.key).await),
        Some(first.clone())
    );
    assert_eq!(
        ok(stores
            .sessions
            .find(&SessionKey::digest_of("unknown"))
            .await),
        None
    );
    assert!(ok(stores.sessions.delete(&first.key).await));
    assert_eq!(ok(stores.sessions.find(&first.key).await), None);
    assert!(!ok(stores.sessions.delete(&first.key).await));
    assert_eq!(
        ok(stores.sessions.find(&second.key).await),
        Some(second.clone())
    );
    Expected {
        users: vec![alice],
        sessions: vec![second],
        gone: vec![first.key],
    }
}

/// Removing a user's sessions counts them and leaves other users' sessions
/// and the users themselves alone.
pub async fn delete_by_user_removes_only_that_users_sessions_and_counts_them(
    stores: Stores,
) -> Expected {
    let alice = user("alice@example.com");
    let bob = user("bob@example.com");
    insert_user(&stores, &alice).await;
    insert_user(&stores, &bob).await;
    let of_alice: Vec<Session> = (1..=3)
        .map(|i| session(alice.id, &format!("alice {i}"), i))
        .collect();
    for s in &of_alice {
        insert_session(&stores, s).await;
    }
    let of_bob = session(bob.id, "bob", 1);
    insert_session(&stores, &of_bob).await;

    assert_eq!(ok(stores.sessions.delete_by_user(&alice.id, None).await), 3);
    assert_eq!(ok(stores.sessions.delete_by_user(&alice.id, None).await), 0);
    assert_eq!(
        ok(stores
            .sessions
            .delete_by_user(&UserId::generate(), None)
            .await),
        0
    );
    assert_eq!(ok(stores.sessions.list_by_user(&alice.id).await), []);
    Expected {
        users: vec![alice, bob],
        sessions: vec![of_bob],
        gone: of_alice.into_iter().map(|s| s.key).collect(),
    }
}

/// What a session records about its client and its last use comes back
/// exactly, through every look-up: absent values, addresses of both
/// families, and a user agent of the longest kept length in non-ASCII text
/// with quotes and backslashes.
pub async fn session_activity_and_client_fields_round_trip_exactly(stores: Stores) -> Expected {
    let alice = user("alice@example.com");
    insert_user(&stores, &alice).await;
    let long_agent: String = "Zoë/1.0 (日本語; \"q\" \\) "
        .chars()
        .cycle()
        .take(domain::session::USER_AGENT_MAX)
        .collect();
    let described = Session {
        client_address: Some("203.0.113.7".to_owned()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".to_owned()),
        ..used_session(alice.id, "described", 2, 6)
    };
    let ipv6 = Session {
        client_address: Some("2001:db8::1".to_owned()),
        user_agent: Some(long_agent),
        ..used_session(alice.id, "ipv6", 3, 3)
    };
    let bare = session(alice.id, "bare", 4);
    let all = [described, ipv6, bare];
    for s in &all {
        insert_session(&stores, s).await;
        assert_eq!(ok(stores.sessions.find(&s.key).await).as_ref(), Some(s));
        let joined = ok(stores
            .sessions
            .find_with_user(&s.key, stores.users.as_ref())
            .await);
        assert_eq!(joined, Some((s.clone(), Some(alice.clone()))));
    }
    assert_eq!(ok(stores.sessions.list_by_user(&alice.id).await), all);
    Expected {
        users: vec![alice],
        sessions: all.to_vec(),
        gone: vec![],
    }
}

/// Touching sets `last_used_at` and nothing else, on that session only;
/// an unknown key is `false` and creates nothing.
pub async fn touch_records_activity_only_and_is_false_for_an_unknown_key(
    stores: Stores,
) -> Expected {
    let alice = user("alice@example.com");
    insert_user(&stores, &alice).await;
    let touched = Session {
        client_address: Some("198.51.100.2".to_owned()),
        user_agent: Some("curl/8.5.0".to_owned()),
        ..session(alice.id, "touched", 2)
    };
    let untouched = session(alice.id, "untouched", 2);
    insert_session(&stores, &touched).await;
    insert_session(&stores, &untouched).await;

    assert!(ok(stores.sessions.touch(&touched.key, at(5)).await));
    let expected = Session {
        last_used_at: at(5),
        ..touched.clone()
    };
    assert_eq!(
        ok(stores.sessions.find(&touched.key).await),
        Some(expected.clone())
    );
    // A later touch moves it on again.
    assert!(ok(stores.sessions.touch(&touched.key, at(7)).await));
    let expected = Session {
        last_used_at: at(7),
        ..touched
    };
    assert_eq!(
        ok(stores.sessions.find(&expected.key).await),
        Some(expected.clone())
    );

    let unknown = SessionKey::digest_of("unknown");
    assert!(!ok(stores.sessions.touch(&unknown, at(5)).await));
    assert_eq!(ok(stores.sessions.find(&unknown).await), None);
    Expected {
        users: vec![alice],
        sessions: vec![expected, untouched],
        gone: vec![unknown],
    }
}

/// A user's sessions list oldest first whatever order they were stored
/// in, and never include another user's.
pub async fn list_by_user_lists_only_that_users_sessions_oldest_first(stores: Stores) -> Expected {
    let alice = user("alice@example.com");
    let bob = user("bob@example.com");
    let carol = user("carol@example.com");
    for u in [&alice, &bob, &carol] {
        insert_user(&stores, u).await;
    }
    let of_alice = [
        session(alice.id, "alice day 1", 1),
        used_session(alice.id, "alice day 2", 2, 9),
        session(alice.id, "alice day 3", 3),
    ];
    let of_bob = session(bob.id, "bob day 1", 1);
    for s in [&of_alice[2], &of_bob, &of_alice[0], &of_alice[1]] {
        insert_session(&stores, s).await;
    }

    assert_eq!(ok(stores.sessions.list_by_user(&alice.id).await), of_alice);
    assert_eq!(
        ok(stores.sessions.list_by_user(&bob.id).await),
        std::slice::from_ref(&of_bob)
    );
    assert_eq!(ok(stores.sessions.list_by_user(&carol.id).await), []);
    assert_eq!(
        ok(stores.sessions.list_by_user(&UserId::generate()).await),
        []
    );
    let mut sessions = of_alice.to_vec();
    sessions.push(of_bob);
    Expected {
        users: vec![alice, bob, carol],
        sessions,
        gone: vec![],
    }
}

/// "Log out everywhere else": every session of the user but the one
/// named goes, and is counted; an exception belonging to someone else
/// protects nothing of this user's and is not removed either.
pub async fn delete_by_user_with_an_exception_keeps_exactly_that_session(
    stores: Stores,
) -> Expected {
    let alice = user("alice@example.com");
    let bob = user("bob@example.com");
    insert_user(&stores, &alice).await;
    insert_user(&stores, &bob).await;
    let of_alice: Vec<Session> = (1..=4)
        .map(|i| session(alice.id, &format!("alice {i}"), i))
        .collect();
    let of_bob: Vec<Session> = (1..=2)
        .map(|i| session(bob.id, &format!("bob {i}"), i))
        .collect();
    for s in of_alice.iter().chain(&of_bob) {
        insert_session(&stores, s).await;
    }

    let current = &of_alice[1];
    assert_eq!(
        ok(stores
            .sessions
            .delete_by_user(&alice.id, Some(&current.key))
            .await),
        3
    );
    assert_eq!(
        ok(stores.sessions.list_by_user(&alice.id).await),
        std::slice::from_ref(current)
    );
    assert_eq!(
        ok(stores
            .sessions
            .delete_by_user(&alice.id, Some(&current.key))
            .await),
        0
    );
    // Another user's session as the exception protects none of Alice's,
    // and is not removed itself.
    assert_eq!(
        ok(stores
            .sessions
            .delete_by_user(&alice.id, Some(&of_bob[0].key))
            .await),
        1
    );
    assert_eq!(ok(stores.sessions.list_by_user(&bob.id).await), of_bob);
    Expected {
        users: vec![alice, bob],
        sessions: of_bob,
        gone: keys(&of_alice),
    }
}

/// With only an absolute limit, sessions created strictly before it go,
/// however recently they were used.
pub async fn delete_expired_by_creation_removes_only_sessions_created_before(
    stores: Stores,
) -> Expected {
    let alice = user("alice@example.com");
    let bob = user("bob@example.com");
    insert_user(&stores, &alice).await;
    insert_user(&stores, &bob).await;
    let old = [
        used_session(alice.id, "day 1", 1, 20),
        used_session(bob.id, "day 2", 2, 20),
    ];
    let kept = [
        session(alice.id, "day 3", 3),
        used_session(bob.id, "day 4", 4, 4),
    ];
    for s in old.iter().chain(&kept) {
        insert_session(&stores, s).await;
    }

    assert_eq!(
        ok(stores.sessions.delete_expired(Some(at(3)), None).await),
        2
    );
    assert_eq!(
        ok(stores.sessions.delete_expired(Some(at(3)), None).await),
        0
    );
    Expected {
        users: vec![alice, bob],
        sessions: kept.to_vec(),
        gone: keys(&old),
    }
}

/// With only an idle limit, sessions last used strictly before it go,
/// however recently they were created.
pub async fn delete_expired_by_last_use_removes_only_sessions_idle_since_before(
    stores: Stores,
) -> Expected {
    let alice = user("alice@example.com");
    insert_user(&stores, &alice).await;
    let idle = [
        used_session(alice.id, "made day 1, used day 2", 1, 2),
        session(alice.id, "made and used day 4", 4),
    ];
    let kept = [
        used_session(alice.id, "made day 1, used day 5", 1, 5),
        session(alice.id, "made and used day 5", 5),
        used_session(alice.id, "made day 1, used day 9", 1, 9),
    ];
    for s in idle.iter().chain(&kept) {
        insert_session(&stores, s).await;
    }
    // A touch counts as use: without it this session would be idle.
    let revived = session(alice.id, "made day 1, touched day 6", 1);
    insert_session(&stores, &revived).await;
    assert!(ok(stores.sessions.touch(&revived.key, at(6)).await));

    assert_eq!(
        ok(stores.sessions.delete_expired(None, Some(at(5))).await),
        2
    );
    assert_eq!(
        ok(stores.sessions.delete_expired(None, Some(at(5))).await),
        0
    );
    let mut sessions = kept.to_vec();
    sessions.push(Session {
        last_used_at: at(6),
        ..revived
    });
    Expected {
        users: vec![alice],
        sessions,
        gone: keys(&idle),
    }
}

/// With both limits, a session past either one goes; one exactly at a
/// limit stays.
pub async fn delete_expired_by_both_removes_sessions_past_either_limit(stores: Stores) -> Expected {
    let alice = user("alice@example.com");
    insert_user(&stores, &alice).await;
    // Limits: created before day 3, or last used before day 6.
    let dead = [
        used_session(alice.id, "too old, used lately", 2, 9),
        used_session(alice.id, "young, idle", 4, 5),
        used_session(alice.id, "too old and idle", 1, 1),
    ];
    let kept = [
        used_session(alice.id, "created at the limit", 3, 7),
        used_session(alice.id, "used at the limit", 4, 6),
        used_session(alice.id, "young and used", 5, 8),
    ];
    for s in dead.iter().chain(&kept) {
        insert_session(&stores, s).await;
    }
    // What a sweep would keep is what the live-session gauge counts.
    let live = ok(stores.sessions.count_live(Some(at(3)), Some(at(6))).await);
    assert!(
        live.is_none() || live == Some(3),
        "count_live says {live:?}, 3 would be kept"
    );

    assert_eq!(
        ok(stores
            .sessions
            .delete_expired(Some(at(3)), Some(at(6)))
            .await),
        3
    );
    assert_eq!(
        ok(stores
            .sessions
            .delete_expired(Some(at(3)), Some(at(6)))
            .await),
        0
    );
    Expected {
        users: vec![alice],
        sessions: kept.to_vec(),
        gone: keys(&dead),
    }
}

/// No limit means no session is expired: nothing is removed.
pub async fn delete_expired_without_limits_deletes_nothing(stores: Stores) -> Expected {
    let alice = user("alice@example.com");
    insert_user(&stores, &alice).await;
    let sessions = [
        used_session(alice.id, "ancient", 1, 1),
        session(alice.id, "recent", 9),
    ];
    for s in &sessions {
        insert_session(&stores, s).await;
    }

    assert_eq!(ok(stores.sessions.delete_expired(None, None).await), 0);
    Expected {
        users: vec![alice],
        sessions: sessions.to_vec(),
        gone: vec![],
    }
}

/// 50 users and 50 sessions inserted at once are all there afterwards.
pub async fn concurrent_writers_lose_nothing(stores: Stores) -> Expected {
    let owners: Vec<User> = (0..5)
        .map(|i| user(&format!("owner{i}@example.com")))
        .collect();
    for u in &owners {
        insert_user(&stores, u).await;
    }
    let newcomers: Vec<User> = (0..50)
        .map(|i| user(&format!("writer{i}@example.com")))
        .collect();
    let sessions: Vec<Session> = (0..50)
        .map(|i| session(owners[i % owners.len()].id, &format!("token {i}"), 1))
        .collect();

    let mut tasks = tokio::task::JoinSet::new();
    for (u, s) in newcomers.iter().zip(&sessions) {
        let (users, u) = (Arc::clone(&stores.users), u.clone());
        tasks.spawn(async move { users.insert(&u).await });
        let (store, s) = (Arc::clone(&stores.sessions), s.clone());
        tasks.spawn(async move { store.insert(&s).await });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(result) => ok(result),
            Err(e) => panic!("a writer task failed: {e}"),
        }
    }

    let listed = ok(stores.users.list().await);
    let listed_ids: HashSet<UserId> = listed.iter().map(|u| u.id).collect();
    let inserted_ids: HashSet<UserId> = owners.iter().chain(&newcomers).map(|u| u.id).collect();
    assert_eq!(listed_ids, inserted_ids);
    assert_eq!(&listed[..owners.len()], owners.as_slice());
    // The order among concurrent inserts is whatever the storage chose; it
    // must be the same after reopening.
    Expected {
        users: listed,
        sessions,
        gone: vec![],
    }
}

/// The administrator flag is stored with the user (and read with a
/// session's user), and `set_admin` changes it and `updated_at` only; a
/// flag already set changes nothing; an unknown id is `None`.
pub async fn the_admin_flag_is_stored_and_can_be_changed(stores: Stores) -> Expected {
    let root = admin("root@example.com");
    let bob = user("bob@example.com");
    insert_user(&stores, &root).await;
    insert_user(&stores, &bob).await;
    let root_session = session(root.id, "root token", 2);
    insert_session(&stores, &root_session).await;
    assert_eq!(ok(stores.users.get(&root.id).await), Some(root.clone()));
    let (_, with_user) = ok(stores
        .sessions
        .find_with_user(&root_session.key, stores.users.as_ref())
        .await)
    .unwrap_or_else(|| panic!("the session is stored"));
    assert_eq!(
        with_user,
        Some(root.clone()),
        "a session's user has the flag"
    );

    let bob_admin = User {
        is_admin: true,
        updated_at: at(3),
        ..bob.clone()
    };
    assert_eq!(
        ok(stores.users.set_admin(&bob.id, true, at(3)).await),
        Some(bob_admin.clone())
    );
    assert_eq!(
        ok(stores.users.set_admin(&bob.id, true, at(4)).await),
        Some(bob_admin.clone()),
        "setting the flag it has changes nothing"
    );
    let root_plain = User {
        is_admin: false,
        updated_at: at(5),
        ..root.clone()
    };
    assert_eq!(
        ok(stores.users.set_admin(&root.id, false, at(5)).await),
        Some(root_plain.clone())
    );
    assert_eq!(
        ok(stores
            .users
            .set_admin(&UserId::generate(), true, at(6))
            .await),
        None
    );
    Expected {
        users: vec![root_plain, bob_admin],
        sessions: vec![root_session],
        gone: vec![],
    }
}

/// Clearing the flag of the only administrator is refused and changes
/// nothing; with another administrator it is allowed; a user who is no
/// administrator can always be "revoked" (nothing to do).
pub async fn the_last_administrator_keeps_the_right(stores: Stores) -> Expected {
    let root = admin("root@example.com");
    let bob = user("bob@example.com");
    insert_user(&stores, &root).await;
    insert_user(&stores, &bob).await;
    let refused = stores.users.set_admin(&root.id, false, at(3)).await;
    assert!(
        matches!(refused, Err(RepositoryError::LastAdmin)),
        "expected LastAdmin, got {refused:?}"
    );
    assert_eq!(ok(stores.users.get(&root.id).await), Some(root.clone()));
    assert_eq!(
        ok(stores.users.set_admin(&bob.id, false, at(3)).await),
        Some(bob.clone())
    );

    ok(stores.users.set_admin(&bob.id, true, at(4)).await);
    let root_plain = ok(stores.users.set_admin(&root.id, false, at(5)).await);
    let refused = stores.users.set_admin(&bob.id, false, at(6)).await;
    assert!(
        matches!(refused, Err(RepositoryError::LastAdmin)),
        "expected LastAdmin, got {refused:?}"
    );
    let bob_admin = User {
        is_admin: true,
        updated_at: at(4),
        ..bob
    };
    Expected {
        users: vec![
            root_plain.unwrap_or_else(|| panic!("root is stored")),
            bob_admin,
        ],
        sessions: vec![],
        gone: vec![],
    }
}

/// Of administrators revoking each other's right at once, at least one
/// keeps it: the check and the change are one atomic step.
pub async fn concurrent_revocations_leave_an_administrator(stores: Stores) -> Expected {
    let admins: Vec<User> = (0..4)
        .map(|i| admin(&format!("admin{i}@example.com")))
        .collect();
    for a in &admins {
        insert_user(&stores, a).await;
    }
    let mut tasks = tokio::task::JoinSet::new();
    for a in &admins {
        let (users, id) = (Arc::clone(&stores.users), a.id);
        tasks.spawn(async move { users.set_admin(&id, false, at(2)).await });
    }
    let (mut revoked, mut refused) = (0, 0);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(Some(_))) => revoked += 1,
            Ok(Err(RepositoryError::LastAdmin)) => refused += 1,
            Ok(other) => panic!("unexpected outcome {other:?}"),
            Err(e) => panic!("a task failed: {e}"),
        }
    }
    assert_eq!((revoked, refused), (3, 1));
    let listed = ok(stores.users.list().await);
    assert_eq!(listed.iter().filter(|u| u.is_admin).count(), 1);
    Expected {
        users: listed,
        sessions: vec![],
        gone: vec![],
    }
}

pub mod attempt_log {
    //! The contract of the failed-login log ([`AttemptLog`]): what the
    //! brute-force throttle relies on, whatever holds the log.
    //!
    //! Each check is a `pub async fn` taking a fresh, empty log and
    //! returning the counts the log must give afterwards ([`Counted`]). The
    //! runner ([`run`]) asks for them again on the same log and, for a log
    //! kept in shared storage (a database), on a second handle opened while
    //! the first is still alive: that is what makes the limits shared
    //! across instances and lets them survive a restart.
    //!
    //! ```ignore
    //! struct Memory;
    //! impl integration_tests::storage_contract::attempt_log::AttemptBackend for Memory { /* … */ }
    //! integration_tests::attempt_log_contract_tests!(Memory);
    //! ```

    use chrono::{DateTime, Duration, TimeZone, Utc};
    use std::future::Future;
    use std::sync::Arc;

    use domain::{AccountKey, AttemptLog, FailedAttempt, FailureWindow, RepositoryError};

    /// A failed-login log under test.
    pub trait AttemptBackend: Sized {
        /// A fresh, empty log. `Self` keeps whatever must outlive it.
        fn create() -> impl Future<Output = (Self, Arc<dyn AttemptLog>)>;

        /// A second handle on the same log, opened independently of the
        /// first (a new connection pool); `None` for a log that lives in
        /// its handle alone (process memory).
        fn reopen(&self) -> impl Future<Output = Option<Arc<dyn AttemptLog>>>;
    }

    /// One question to the log and the answer it must give.
    #[derive(Debug, Clone)]
    pub struct Counted {
        /// The account asked about, if any.
        pub account: Option<AccountKey>,
        /// The address asked about, if any.
        pub address: Option<String>,
        /// Failures strictly after this count.
        pub since: DateTime<Utc>,
        /// The answer.
        pub window: FailureWindow,
    }

    impl Counted {
        /// Asserts that `log` gives this answer.
        pub async fn verify(&self, log: &dyn AttemptLog) {
            let found = ok(log
                .failures(self.account.as_ref(), self.address.as_deref(), self.since)
                .await);
            assert_eq!(found, self.window, "{self:?}");
        }
    }

    /// Runs `check` on a fresh `B` and verifies the counts it expects on the
    /// same log and, when `B` is shared storage, on a second handle.
    pub async fn run<B, F, Fut>(check: F)
    where
        B: AttemptBackend,
        F: FnOnce(Arc<dyn AttemptLog>) -> Fut,
        Fut: Future<Output = Vec<Counted>>,
    {
        let (backend, log) = B::create().await;
        let expected = check(Arc::clone(&log)).await;
        for counted in &expected {
            counted.verify(log.as_ref()).await;
        }
        if let Some(other) = backend.reopen().await {
            for counted in &expected {
                counted.verify(other.as_ref()).await;
            }
        }
    }

    /// Generates one `#[tokio::test]` per check of this contract, running
    /// it against the [`AttemptBackend`] type given.
    ///
    /// The invoking crate needs `tokio` (with `macros` and
    /// `rt-multi-thread`).
    #[macro_export]
    macro_rules! attempt_log_contract_tests {
        ($backend:ty) => {
            $crate::attempt_log_contract_tests!(
                @checks $backend;
                failures_are_counted_by_account_by_address_and_by_both,
                the_window_starts_after_since_and_reports_oldest_and_latest,
                prune_forgets_only_failures_before_the_cutoff,
                concurrent_failures_are_all_counted,
            );
        };
        (@checks $backend:ty; $($check:ident),* $(,)?) => {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    $crate::storage_contract::attempt_log::run::<$backend, _, _>(
                        $crate::storage_contract::attempt_log::$check,
                    )
                    .await;
                }
            )*
        };
    }

    fn ok<T>(result: Result<T, RepositoryError>) -> T {
        match result {
            Ok(value) => value,
            Err(e) => panic!("attempt log failed: {e:?}"),
        }
    }

    /// `seconds` after noon on 10 January 2024: whole seconds, as the
    /// clock gives them to the throttle.
    fn second(seconds: i64) -> DateTime<Utc> {
        let noon = Utc
            .with_ymd_and_hms(2024, 1, 10, 12, 0, 0)
            .single()
            .unwrap_or_else(|| panic!("10 January 2024 is a date"));
        noon + Duration::seconds(seconds)
    }

    fn account(email: &str) -> AccountKey {
        AccountKey::of(email)
    }

    async fn fail(log: &dyn AttemptLog, email: &str, address: &str, at: DateTime<Utc>) {
        let attempt = FailedAttempt {
            account: account(email),
            address: address.to_owned(),
            at,
        };
        ok(log.record_failure(&attempt).await);
    }

    fn window(count: u64, oldest: i64, latest: i64) -> FailureWindow {
        FailureWindow {
            count,
            oldest: Some(second(oldest)),
            latest: Some(second(latest)),
        }
    }

    fn counted(
        email: Option<&str>,
        address: Option<&str>,
        since: DateTime<Utc>,
        window: FailureWindow,
    ) -> Counted {
        Counted {
            account: email.map(account),
            address: address.map(str::to_owned),
            since,
            window,
        }
    }

    /// Failures count per account, per address, per both, and in all; a
    /// filter that matches nothing is an empty window.
    pub async fn failures_are_counted_by_account_by_address_and_by_both(
        log: Arc<dyn AttemptLog>,
    ) -> Vec<Counted> {
        let here = "203.0.113.7";
        let there = "2001:db8::1";
        fail(log.as_ref(), "alice@example.com", here, second(1)).await;
        fail(log.as_ref(), "alice@example.com", here, second(2)).await;
        fail(log.as_ref(), "alice@example.com", there, second(3)).await;
        fail(log.as_ref(), "bob@example.com", here, second(4)).await;
        // Emails are keyed ignoring case, as they are compared: another
        // case is the same account.
        fail(log.as_ref(), "Alice@example.com", there, second(5)).await;

        let since = second(0);
        let alice = Some("alice@example.com");
        vec![
            counted(alice, None, since, window(4, 1, 5)),
            counted(Some("ALICE@EXAMPLE.COM"), None, since, window(4, 1, 5)),
            counted(None, Some(here), since, window(3, 1, 4)),
            counted(None, Some(there), since, window(2, 3, 5)),
            counted(alice, Some(here), since, window(2, 1, 2)),
            counted(alice, Some(there), since, window(2, 3, 5)),
            counted(
                Some("bob@example.com"),
                Some(there),
                since,
                FailureWindow::default(),
            ),
            counted(
                Some("carol@example.com"),
                None,
                since,
                FailureWindow::default(),
            ),
            counted(None, Some("198.51.100.9"), since, FailureWindow::default()),
            counted(None, None, since, window(5, 1, 5)),
        ]
    }

    /// A failure exactly at `since` is outside the window; the window's
    /// oldest and latest are the first and last failures after it.
    pub async fn the_window_starts_after_since_and_reports_oldest_and_latest(
        log: Arc<dyn AttemptLog>,
    ) -> Vec<Counted> {
        let email = "alice@example.com";
        let address = "203.0.113.7";
        // Recorded out of order: oldest and latest are by time, not by
        // arrival.
        for at in [30, 9, 10, 11, 45] {
            fail(log.as_ref(), email, address, second(at)).await;
        }
        let both = (Some(email), Some(address));
        vec![
            counted(both.0, both.1, second(10), window(3, 11, 45)),
            counted(both.0, None, second(9), window(4, 10, 45)),
            counted(None, both.1, second(8), window(5, 9, 45)),
            counted(both.0, both.1, second(44), window(1, 45, 45)),
            counted(both.0, both.1, second(45), FailureWindow::default()),
        ]
    }

    /// Pruning forgets failures strictly before the cutoff, says how many,
    /// and keeps the rest countable.
    pub async fn prune_forgets_only_failures_before_the_cutoff(
        log: Arc<dyn AttemptLog>,
    ) -> Vec<Counted> {
        let here = "203.0.113.7";
        for at in [1, 2, 3] {
            fail(log.as_ref(), "alice@example.com", here, second(at)).await;
        }
        fail(log.as_ref(), "bob@example.com", "2001:db8::1", second(2)).await;

        assert_eq!(ok(log.prune(second(1)).await), 0);
        assert_eq!(ok(log.prune(second(3)).await), 3);
        assert_eq!(ok(log.prune(second(3)).await), 0);
        vec![
            counted(Some("alice@example.com"), None, second(0), window(1, 3, 3)),
            counted(None, Some(here), second(0), window(1, 3, 3)),
            counted(
                Some("bob@example.com"),
                Some("2001:db8::1"),
                second(0),
                FailureWindow::default(),
            ),
            counted(None, None, second(0), window(1, 3, 3)),
        ]
    }

    /// Twenty failures recorded at once all count: the limit cannot be
    /// outrun by guessing in parallel.
    pub async fn concurrent_failures_are_all_counted(log: Arc<dyn AttemptLog>) -> Vec<Counted> {
        let email = "alice@example.com";
        let address = "203.0.113.7";
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..20 {
            let log = Arc::clone(&log);
            tasks.spawn(async move {
                let attempt = FailedAttempt {
                    account: account(email),
                    address: address.to_owned(),
                    // Pairs share a second: equal times count separately.
                    at: second(1 + i / 2),
                };
                log.record_failure(&attempt).await
            });
        }
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(result) => ok(result),
                Err(e) => panic!("a recording task failed: {e}"),
            }
        }
        vec![
            counted(Some(email), None, second(0), window(20, 1, 10)),
            counted(None, Some(address), second(0), window(20, 1, 10)),
            counted(Some(email), Some(address), second(0), window(20, 1, 10)),
            counted(Some(email), Some(address), second(5), window(10, 6, 10)),
        ]
    }
}
