//! The recovery-ticket contract: what every storage's
//! [`RecoveryTokenRepository`] must do (tickets found by their digest,
//! taken once, removed per user and at expiry, kept across a reopen).
//!
//! A storage joins it by implementing [`TicketBackend`] in a test file
//! and invoking [`recovery_contract_tests!`](crate::recovery_contract_tests),
//! which generates one `#[tokio::test]` per check.

use chrono::{DateTime, Duration, TimeZone, Utc};
use std::future::Future;
use std::sync::Arc;

use domain::{
    Email, PasswordHash, RecoveryKey, RecoveryPurpose, RecoveryTicket, RecoveryToken,
    RecoveryTokenRepository, RepositoryError, User, UserId, UserRepository,
};

/// The users a ticket belongs to, and the tickets, over one storage.
#[derive(Clone)]
pub struct TicketStores {
    /// The users port (tickets name stored users).
    pub users: Arc<dyn UserRepository>,
    /// The tickets port.
    pub tickets: Arc<dyn RecoveryTokenRepository>,
}

/// A storage under test.
pub trait TicketBackend: Sized {
    /// A fresh, empty storage. `Self` keeps whatever must outlive it.
    fn create() -> impl Future<Output = (Self, TicketStores)>;

    /// The ports over the same storage opened anew, once every handle
    /// returned before has been dropped; `None` for process memory.
    fn reopen(&self) -> impl Future<Output = Option<TicketStores>>;
}

/// What the tickets port must hold once a check is done.
#[derive(Debug, Default)]
pub struct Held {
    /// Tickets that must be found, as they are.
    pub found: Vec<RecoveryTicket>,
    /// Keys that must find nothing.
    pub gone: Vec<RecoveryKey>,
}

impl Held {
    async fn verify(&self, tickets: &dyn RecoveryTokenRepository) {
        for ticket in &self.found {
            assert_eq!(
                ok(tickets.find_ticket(&ticket.key).await).as_ref(),
                Some(ticket)
            );
        }
        for key in &self.gone {
            assert_eq!(ok(tickets.find_ticket(key).await), None, "{key:?}");
        }
    }
}

/// Runs `check` on a fresh `B`, then verifies what it says must be held,
/// on the same handles and, for storage that outlives them, anew.
pub async fn run<B, F, Fut>(check: F)
where
    B: TicketBackend,
    F: FnOnce(TicketStores) -> Fut,
    Fut: Future<Output = Held>,
{
    let (backend, stores) = B::create().await;
    let held = check(stores.clone()).await;
    held.verify(stores.tickets.as_ref()).await;
    drop(stores);
    if let Some(again) = backend.reopen().await {
        held.verify(again.tickets.as_ref()).await;
    }
}

/// Generates one `#[tokio::test]` per check, against the [`TicketBackend`]
/// type given. The invoking crate needs `tokio` (`macros`,
/// `rt-multi-thread`).
#[macro_export]
macro_rules! recovery_contract_tests {
    ($backend:ty) => {
        $crate::recovery_contract_tests!(
            @checks $backend;
            tickets_are_found_by_their_key_and_taken_once,
            concurrent_takes_let_exactly_one_win,
            a_users_tickets_of_one_purpose_are_removed_together,
            expired_tickets_are_swept_and_live_ones_kept,
        );
    };
    (@checks $backend:ty; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                $crate::recovery_contract::run::<$backend, _, _>(
                    $crate::recovery_contract::$check,
                )
                .await;
            }
        )*
    };
}

fn ok<T>(result: Result<T, RepositoryError>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("recovery tickets failed: {e:?}"),
    }
}

/// `minutes` after noon on 10 January 2024.
fn minute(minutes: i64) -> DateTime<Utc> {
    let noon = Utc
        .with_ymd_and_hms(2024, 1, 10, 12, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("10 January 2024 is a date"));
    noon + Duration::minutes(minutes)
}

async fn stored_user(users: &dyn UserRepository, email: &str) -> User {
    let email = Email::parse(email).unwrap_or_else(|| panic!("{email} is an email"));
    let user = User {
        id: UserId::generate(),
        email,
        password_hash: PasswordHash::Unusable,
        first_name: None,
        last_name: None,
        created_at: minute(0),
        updated_at: minute(0),
        is_admin: false,
    };
    ok(users.insert(&user).await);
    user
}

/// A ticket for `user`, issued at `issued` and living `minutes`.
fn ticket(user: &User, seed: u8, issued: i64, minutes: i64) -> RecoveryTicket {
    RecoveryTicket {
        key: RecoveryToken::from_random_bytes([seed; 32]).key(),
        user_id: user.id,
        purpose: RecoveryPurpose::PasswordReset,
        created_at: minute(issued),
        expires_at: minute(issued + minutes),
    }
}

/// A stored ticket is found by its key with every field as stored; taking
/// it succeeds once, then it is gone.
pub async fn tickets_are_found_by_their_key_and_taken_once(stores: TicketStores) -> Held {
    let bob = stored_user(stores.users.as_ref(), "bob@example.com").await;
    let first = ticket(&bob, 1, 0, 30);
    let second = ticket(&bob, 2, 5, 30);
    ok(stores.tickets.insert_ticket(&first).await);
    ok(stores.tickets.insert_ticket(&second).await);
    assert_eq!(
        ok(stores.tickets.find_ticket(&first.key).await),
        Some(first.clone())
    );
    let unknown = RecoveryToken::from_client("never issued").key();
    assert_eq!(ok(stores.tickets.find_ticket(&unknown).await), None);
    assert!(ok(stores.tickets.take_ticket(&first.key).await));
    assert!(!ok(stores.tickets.take_ticket(&first.key).await));
    assert!(!ok(stores.tickets.take_ticket(&unknown).await));
    Held {
        found: vec![second],
        gone: vec![first.key, unknown],
    }
}

/// Ten concurrent takes of one ticket: exactly one succeeds (a link
/// works once, however fast it is replayed).
pub async fn concurrent_takes_let_exactly_one_win(stores: TicketStores) -> Held {
    let bob = stored_user(stores.users.as_ref(), "bob@example.com").await;
    let only = ticket(&bob, 3, 0, 30);
    ok(stores.tickets.insert_ticket(&only).await);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let tickets = Arc::clone(&stores.tickets);
        let key = only.key.clone();
        tasks.spawn(async move { tickets.take_ticket(&key).await });
    }
    let mut won = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(result) => won += usize::from(ok(result)),
            Err(e) => panic!("a take failed: {e}"),
        }
    }
    assert_eq!(won, 1, "exactly one take wins");
    Held {
        found: Vec::new(),
        gone: vec![only.key],
    }
}

/// Removing a user's tickets (a reset ends the other links) counts them
/// and leaves other users' alone.
pub async fn a_users_tickets_of_one_purpose_are_removed_together(stores: TicketStores) -> Held {
    let bob = stored_user(stores.users.as_ref(), "bob@example.com").await;
    let ann = stored_user(stores.users.as_ref(), "ann@example.com").await;
    let bobs = [ticket(&bob, 4, 0, 30), ticket(&bob, 5, 1, 30)];
    let anns = ticket(&ann, 6, 0, 30);
    for stored in bobs.iter().chain([&anns]) {
        ok(stores.tickets.insert_ticket(stored).await);
    }
    let purpose = RecoveryPurpose::PasswordReset;
    assert_eq!(
        ok(stores.tickets.delete_tickets_of(&bob.id, purpose).await),
        2
    );
    assert_eq!(
        ok(stores.tickets.delete_tickets_of(&bob.id, purpose).await),
        0
    );
    Held {
        found: vec![anns],
        gone: bobs.into_iter().map(|t| t.key).collect(),
    }
}

/// The sweep removes tickets whose expiry is at or before now, counts
/// them, and keeps the live ones.
pub async fn expired_tickets_are_swept_and_live_ones_kept(stores: TicketStores) -> Held {
    let bob = stored_user(stores.users.as_ref(), "bob@example.com").await;
    let expired = ticket(&bob, 7, 0, 30);
    let at_the_limit = ticket(&bob, 8, 10, 30);
    let live = ticket(&bob, 9, 20, 30);
    for stored in [&expired, &at_the_limit, &live] {
        ok(stores.tickets.insert_ticket(stored).await);
    }
    assert_eq!(
        ok(stores.tickets.delete_expired_tickets(minute(40)).await),
        2
    );
    assert_eq!(
        ok(stores.tickets.delete_expired_tickets(minute(40)).await),
        0
    );
    assert!(!at_the_limit.is_live(minute(40)));
    assert!(live.is_live(minute(40)));
    Held {
        found: vec![live],
        gone: vec![expired.key, at_the_limit.key],
    }
}
