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

use chrono::{DateTime, TimeZone, Utc};
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use domain::{
    Email, Password, PasswordHash, RepositoryError, Session, SessionId, SessionKey,
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
            emails_are_compared_exactly,
            users_are_listed_in_creation_order_and_counted,
            stored_users_keep_every_field,
            update_changes_names_and_email,
            update_of_an_absent_user_returns_false_and_stores_nothing,
            delete_returns_true_then_false_and_removes_the_users_sessions,
            deleting_a_user_keeps_other_users_sessions,
            duplicate_email_on_insert_is_refused_and_changes_nothing,
            duplicate_email_on_update_is_refused_and_changes_nothing,
            sessions_are_inserted_found_and_deleted,
            delete_by_user_removes_only_that_users_sessions_and_counts_them,
            delete_created_before_removes_only_older_sessions,
            concurrent_writers_lose_nothing,
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
    }
}

fn session(user_id: UserId, token: &str, created_on: u32) -> Session {
    Session {
        id: SessionId::generate(),
        key: SessionKey::digest_of(token),
        user_id,
        created_at: at(created_on),
        updated_at: at(created_on),
    }
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

/// Emails differing only in case are different users (existing data holds
/// such pairs, and each must keep logging in).
pub async fn emails_are_compared_exactly(stores: Stores) -> Expected {
    let lower = user("dana@example.com");
    let upper = user("Dana@Example.com");
    insert_user(&stores, &lower).await;
    assert_eq!(ok(stores.users.find_by_email(&upper.email).await), None);
    insert_user(&stores, &upper).await;
    assert_eq!(
        ok(stores.users.find_by_email(&upper.email).await),
        Some(upper.clone())
    );
    Expected {
        users: vec![lower, upper],
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

    assert_eq!(ok(stores.sessions.delete_by_user(&alice.id).await), 3);
    assert_eq!(ok(stores.sessions.delete_by_user(&alice.id).await), 0);
    assert_eq!(
        ok(stores.sessions.delete_by_user(&UserId::generate()).await),
        0
    );
    Expected {
        users: vec![alice, bob],
        sessions: vec![of_bob],
        gone: of_alice.into_iter().map(|s| s.key).collect(),
    }
}

/// Pruning removes sessions created strictly before the cutoff, and says
/// how many.
pub async fn delete_created_before_removes_only_older_sessions(stores: Stores) -> Expected {
    let alice = user("alice@example.com");
    let bob = user("bob@example.com");
    insert_user(&stores, &alice).await;
    insert_user(&stores, &bob).await;
    let old = [session(alice.id, "day 1", 1), session(bob.id, "day 2", 2)];
    let kept = [session(alice.id, "day 3", 3), session(bob.id, "day 4", 4)];
    for s in old.iter().chain(&kept) {
        insert_session(&stores, s).await;
    }

    assert_eq!(ok(stores.sessions.delete_created_before(at(3)).await), 2);
    assert_eq!(ok(stores.sessions.delete_created_before(at(3)).await), 0);
    Expected {
        users: vec![alice, bob],
        sessions: kept.to_vec(),
        gone: old.into_iter().map(|s| s.key).collect(),
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
