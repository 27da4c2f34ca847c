//! Issue 4, "Sessions and logins that hold up against attackers", through
//! the real router on every storage: brute-force throttling (1), session
//! lifetime and the sweeper (2), fixation and logout (3), a user's own
//! sessions (4), password change (5), headers and the body limit (6), and
//! Part A unchanged for a well-behaved client. Time only moves with the
//! fake clock. (Item 7, secrets in logs, is `app/tests/cli/security.rs`.)

use chrono::Duration;
use serde_json::{Value, json};

use domain::{ThrottleRules, UserId};
use integration_tests::http_harness::{
    Account, Backend, EXPIRING, GUARDED, Reply, SESSION_TYPES, START, Service, assert_user_shape,
    auth_type, start_instant, user_json,
};
use integration_tests::http_tests;
use integration_tests::wire::{
    LOGIN, LOGOUT, ME, PASSWORD, SESSIONS, USERS, forbidden, no_user, wrong_password,
};
use session_auth::Settings;

/// The back-off of [`small_limits`], seconds.
const BACKOFF: u64 = 60;
/// The account window of [`small_limits`], seconds.
const WINDOW: u64 = 3600;

/// 5 failures per account per hour, 3 per address per back-off of 60 s,
/// and the client address taken from `X-Forwarded-For`.
fn small_limits(settings: &mut Settings) {
    settings.throttle = ThrottleRules {
        account_max_failures: 5,
        account_window: Duration::hours(1),
        address_max_failures: 3,
        backoff: Duration::seconds(60),
    };
    settings.trust_forwarded_for = true;
}

/// A service with [`small_limits`] and alice.
async fn throttled(backend: Backend, auth_type: &str) -> (Service, Account) {
    let service = Service::builder(backend)
        .auth_type(auth_type)
        .with(small_limits)
        .start()
        .await;
    let alice = service.create_user("alice@example.com", "alice-pw").await;
    (service, alice)
}

/// A service with these settings, alice and bob.
async fn with_users(
    backend: Backend,
    auth_type: &str,
    change: impl FnOnce(&mut Settings),
) -> (Service, Account, Account) {
    let service = Service::builder(backend)
        .auth_type(auth_type)
        .with(change)
        .start()
        .await;
    let alice = service.create_user("alice@example.com", "alice-pw").await;
    let bob = service.create_user("bob@example.com", "bob-secret").await;
    (service, alice, bob)
}

/// The login form from a client address.
async fn login_from(service: &Service, email: &str, password: &str, address: &str) -> Reply {
    service
        .post(LOGIN)
        .from_address(address)
        .form(&[("email", email), ("password", password)])
        .send()
        .await
}

/// `GET /users/me` with HTTP Basic from a client address.
async fn basic_from(service: &Service, email: &str, password: &str, address: &str) -> Reply {
    service
        .get(ME)
        .from_address(address)
        .basic(email, password)
        .send()
        .await
}

/// A successful login's token.
#[track_caller]
fn token_of(reply: &Reply) -> String {
    reply.assert_status(200);
    reply.set_cookie().value
}

/// Asserts `429 {"error": "Too many attempts"}`, not to be cached, with a
/// `Retry-After` of at least 1 and at most `at_most` seconds; returns it.
#[track_caller]
fn assert_throttled(reply: &Reply, at_most: u64) -> u64 {
    reply.assert(429, json!({"error": "Too many attempts"}));
    assert_eq!(
        reply.header("cache-control"),
        Some("no-store"),
        "{}",
        reply.request
    );
    let wait = reply.retry_after();
    assert!(
        (1..=at_most).contains(&wait),
        "{}: Retry-After {wait}, expected 1..={at_most}",
        reply.request
    );
    wait
}

/// Asserts that `token` resolves to `account` (`GET /users/me` is 200).
async fn assert_live(service: &Service, token: &str, account: &Account) {
    let reply = service.get(ME).cookie(token).send().await;
    reply.assert_status(200);
    assert_eq!(reply.json()["id"], account.id.as_str(), "{}", reply.text());
}

/// Asserts that `token` resolves to no one (403).
async fn assert_dead(service: &Service, token: &str) {
    service
        .get(ME)
        .cookie(token)
        .send()
        .await
        .assert(403, forbidden());
}

/// `START` plus `seconds`, as the API shows timestamps.
fn at(seconds: i64) -> String {
    (start_instant() + Duration::seconds(seconds))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// `GET /auth_session/sessions` with `token`: the listed sessions.
async fn sessions(service: &Service, token: &str) -> Vec<Value> {
    let reply = service.get(SESSIONS).cookie(token).send().await;
    reply.assert_status(200);
    reply
        .json()
        .as_array()
        .unwrap_or_else(|| panic!("the sessions are no array: {}", reply.text()))
        .clone()
}

/// The handle of the session `GET /auth_session/sessions` marks current.
async fn own_handle(service: &Service, token: &str) -> String {
    let listed = sessions(service, token).await;
    let current: Vec<&Value> = listed.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "exactly one current session: {listed:?}");
    current[0]["id"].as_str().unwrap_or_default().to_owned()
}

/// The handles of `account`'s sessions as storage holds them, expired ones
/// included (`session_db_auth` only).
async fn stored_handles(service: &Service, account: &Account) -> Vec<String> {
    let user = UserId::parse(&account.id).unwrap_or_else(|| panic!("bad id {}", account.id));
    let mut handles: Vec<String> = service
        .storage()
        .sessions
        .list_by_user(&user)
        .await
        .unwrap_or_else(|e| panic!("cannot list sessions: {e}"))
        .iter()
        .map(|s| s.id.to_string())
        .collect();
    handles.sort();
    handles
}

/// Asserts `Set-Cookie: <name>=; …; Max-Age=0; Path=/`.
#[track_caller]
fn assert_expires_the_cookie(reply: &Reply, name: &str) {
    let cookie = reply.set_cookie();
    assert_eq!(cookie.name, name, "{}", cookie.raw);
    assert_eq!(cookie.value, "", "{}", cookie.raw);
    assert!(
        cookie.raw.starts_with(&format!("{name}=;")),
        "{}",
        cookie.raw
    );
    assert_eq!(cookie.attribute("Max-Age"), Some("0"), "{}", cookie.raw);
    assert_eq!(cookie.attribute("Path"), Some("/"), "{}", cookie.raw);
}

/// `PUT /users/me/password` with a session cookie.
async fn change_password(service: &Service, token: &str, current: &str, new: &str) -> Reply {
    service
        .put(PASSWORD)
        .cookie(token)
        .json(&json!({"current_password": current, "new_password": new}))
        .send()
        .await
}

/// A JSON body for `POST /users` of exactly `size` bytes.
fn user_body_of_size(email: &str, size: usize) -> String {
    let bare = json!({"email": email, "password": "pw", "first_name": ""}).to_string();
    assert!(bare.len() <= size, "{size} is too small for a user");
    let padded =
        json!({"email": email, "password": "pw", "first_name": "x".repeat(size - bare.len())})
            .to_string();
    assert_eq!(padded.len(), size);
    padded
}

/// A login form of exactly `size` bytes (an extra field pads it).
fn login_form_of_size(account: &Account, size: usize) -> String {
    let bare = format!(
        "email={}&password={}&pad=",
        account.email.replace('@', "%40"),
        account.password
    );
    assert!(bare.len() <= size, "{size} is too small for a login form");
    let padded = format!("{bare}{}", "x".repeat(size - bare.len()));
    assert_eq!(padded.len(), size);
    padded
}

http_tests! {
    // ====================================================== 1. brute force

    /// Past its failures an address gets `429 {"error": "Too many
    /// attempts"}` with `Retry-After` (at most the back-off), even with the
    /// right password, and refused attempts do not count; once the clock
    /// has moved by `Retry-After`, the right password logs in.
    async fn an_address_past_its_failures_waits_the_back_off_even_with_the_right_password(backend: Backend) {
        let (service, alice) = throttled(backend, "session_db_auth").await;
        let attacker = "198.51.100.7";
        for _ in 0..3 {
            login_from(&service, &alice.email, "guess", attacker).await.assert(401, wrong_password());
        }
        let refused = login_from(&service, &alice.email, &alice.password, attacker).await;
        let wait = assert_throttled(&refused, BACKOFF);
        assert!(!refused.has_header("set-cookie"));
        // Refused attempts are not checked and do not prolong the wait.
        for _ in 0..5 {
            let again = login_from(&service, &alice.email, "guess", attacker).await;
            assert_eq!(assert_throttled(&again, BACKOFF), wait);
        }
        service.clock.advance(i64::try_from(wait).unwrap_or(60) - 1);
        assert_throttled(&login_from(&service, &alice.email, &alice.password, attacker).await, 1);
        service.clock.advance(1);
        let token = token_of(&login_from(&service, &alice.email, &alice.password, attacker).await);
        assert_live(&service, &token, &alice).await;
    }

    /// Under `basic_auth` the gate applies the same limit: past the
    /// address's failures even the right Basic credentials get 429 with
    /// `Retry-After` (no `WWW-Authenticate`: it is no 401), until the
    /// back-off has passed.
    async fn basic_auth_is_throttled_past_the_address_limit(backend: Backend) {
        let (service, alice) = throttled(backend, "basic_auth").await;
        let attacker = "198.51.100.7";
        for _ in 0..3 {
            basic_from(&service, &alice.email, "guess", attacker).await.assert(403, forbidden());
        }
        let refused = basic_from(&service, &alice.email, &alice.password, attacker).await;
        let wait = assert_throttled(&refused, BACKOFF);
        assert!(!refused.has_header("www-authenticate"));
        service.clock.advance(i64::try_from(wait).unwrap_or(60));
        basic_from(&service, &alice.email, &alice.password, attacker).await.assert(200, user_json(&alice, START));
    }

    /// The login form and Basic auth share one limiter: a `session_db_auth`
    /// instance and a `basic_auth` instance on the same storage (on SQL, a
    /// second connection pool to the same database) count each other's
    /// failures, in both directions.
    async fn the_login_form_and_basic_auth_share_one_limiter(backend: Backend) {
        let (form, alice) = throttled(backend, "session_db_auth").await;
        let bob = form.create_user("bob@example.com", "bob-pw").await;
        let basic = form.sibling(|s| s.auth_type = auth_type("basic_auth")).await;
        assert_eq!(basic.auth_type(), "basic_auth");
        // Two failures at the form and one through Basic…
        let first = "198.51.100.1";
        for _ in 0..2 {
            login_from(&form, &alice.email, "guess", first).await.assert(401, wrong_password());
        }
        basic_from(&basic, &alice.email, "guess", first).await.assert(403, forbidden());
        // …make three: both ways in are closed to that address.
        assert_throttled(&basic_from(&basic, &alice.email, &alice.password, first).await, BACKOFF);
        assert_throttled(&login_from(&form, &alice.email, &alice.password, first).await, BACKOFF);
        // The other way round (on bob's account, under its limit): Basic
        // failures close the form.
        let second = "198.51.100.2";
        for _ in 0..3 {
            basic_from(&basic, &bob.email, "guess", second).await.assert(403, forbidden());
        }
        assert_throttled(&login_from(&form, &bob.email, &bob.password, second).await, BACKOFF);
        // Another address is not concerned.
        token_of(&login_from(&form, &alice.email, &alice.password, "198.51.100.3").await);
        basic_from(&basic, &bob.email, &bob.password, "198.51.100.3").await.assert(200, user_json(&bob, START));
    }

    /// Under `basic_auth`, a wrong `current_password` at `PUT
    /// /users/me/password` is a failed password check like a wrong Basic
    /// password: together they reach the address limit.
    async fn under_basic_auth_a_wrong_current_password_counts_with_basic_failures(backend: Backend) {
        let (service, alice) = throttled(backend, "basic_auth").await;
        let address = "198.51.100.9";
        for _ in 0..2 {
            basic_from(&service, &alice.email, "guess", address).await.assert(403, forbidden());
        }
        service
            .put(PASSWORD)
            .from_address(address)
            .basic(&alice.email, &alice.password)
            .json(&json!({"current_password": "guess", "new_password": "new-secret"}))
            .send()
            .await
            .assert(401, wrong_password());
        assert_throttled(&basic_from(&service, &alice.email, &alice.password, address).await, BACKOFF);
    }

    /// Under `session_db_auth`, failures at the login form throttle the
    /// password check of `PUT /users/me/password` from that address: 429,
    /// and the password stays as it was.
    async fn login_failures_throttle_the_password_change_from_that_address(backend: Backend) {
        let (service, alice) = throttled(backend, "session_db_auth").await;
        let token = token_of(&login_from(&service, &alice.email, &alice.password, "192.0.2.1").await);
        let address = "198.51.100.9";
        for _ in 0..3 {
            login_from(&service, &alice.email, "guess", address).await.assert(401, wrong_password());
        }
        let refused = service
            .put(PASSWORD)
            .from_address(address)
            .cookie(&token)
            .json(&json!({"current_password": alice.password, "new_password": "new-secret"}))
            .send()
            .await;
        assert_throttled(&refused, BACKOFF);
        token_of(&login_from(&service, &alice.email, &alice.password, "192.0.2.2").await);
        login_from(&service, &alice.email, "new-secret", "192.0.2.3").await.assert(401, wrong_password());
    }

    /// The account limit: failures spread over addresses that each stay
    /// under the address limit still reach it. The addresses that failed
    /// then wait for the account window; the owner, from a fresh address,
    /// waits at most one back-off and then logs in; the attack is held to
    /// one checked guess per back-off from fresh addresses.
    async fn the_account_limit_holds_across_addresses_and_the_owner_waits_at_most_the_back_off(backend: Backend) {
        let (service, alice) = throttled(backend, "session_db_auth").await;
        let attackers = ["203.0.113.1", "203.0.113.1", "203.0.113.2", "203.0.113.2", "203.0.113.3"];
        for address in attackers {
            login_from(&service, &alice.email, "guess", address).await.assert(401, wrong_password());
        }
        for address in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
            let refused = login_from(&service, &alice.email, &alice.password, address).await;
            let wait = assert_throttled(&refused, WINDOW);
            assert!(wait > BACKOFF, "{address} failed on the account: it waits for the window, not {wait} s");
        }
        let owner = "192.0.2.10";
        let wait = assert_throttled(&login_from(&service, &alice.email, &alice.password, owner).await, BACKOFF);
        service.clock.advance(i64::try_from(wait).unwrap_or(60));
        let token = token_of(&login_from(&service, &alice.email, &alice.password, owner).await);
        assert_live(&service, &token, &alice).await;
        // The attackers' addresses are still closed.
        assert_throttled(&login_from(&service, &alice.email, &alice.password, "203.0.113.3").await, WINDOW);
        // A fresh attacker address gets one checked guess…
        login_from(&service, &alice.email, "guess", "203.0.113.4").await.assert(401, wrong_password());
        // …and the next fresh one waits for the back-off.
        assert_throttled(&login_from(&service, &alice.email, "guess", "203.0.113.5").await, BACKOFF);
    }

    /// An unknown email is throttled like a known one: its failures count
    /// (the answer stays `404 "no user found for this email"` until the
    /// limit), for the address and for the account key, so throttling does
    /// not tell which emails exist.
    async fn an_unknown_email_is_throttled_like_a_known_one(backend: Backend) {
        let (service, alice) = throttled(backend, "session_db_auth").await;
        let ghost = "ghost@example.com";
        // The address limit: three misses on the unknown email close the
        // address, for every account.
        let address = "198.51.100.20";
        for _ in 0..3 {
            login_from(&service, ghost, "guess", address).await.assert(404, no_user());
        }
        assert_throttled(&login_from(&service, ghost, "guess", address).await, BACKOFF);
        assert_throttled(&login_from(&service, &alice.email, &alice.password, address).await, BACKOFF);
        // The account limit, side by side for another unknown email and a
        // known one: five failures from five addresses cap both alike.
        service.clock.advance(60);
        let known = service.create_user("known@example.com", "known-pw").await;
        let cases = [("phantom@example.com", 404, no_user()), (known.email.as_str(), 401, wrong_password())];
        for (i, (email, status, expected)) in cases.into_iter().enumerate() {
            for n in 0..5 {
                let reply = login_from(&service, email, "guess", &format!("198.51.{i}.{n}")).await;
                reply.assert(status, expected.clone());
            }
            let fresh = format!("198.51.{i}.99");
            assert_throttled(&login_from(&service, email, "guess", &fresh).await, BACKOFF);
        }
    }

    /// Someone else's failures from another address never keep the owner
    /// out for longer than the back-off: not at all while only the
    /// attacker's address is limited, and at most one back-off per round
    /// however long an attack on the account goes on.
    async fn a_successful_login_is_never_blocked_longer_than_the_back_off_by_another_address(backend: Backend) {
        let (service, alice) = throttled(backend, "session_db_auth").await;
        let owner = "192.0.2.10";
        // An address-limited attacker does not concern the owner.
        for _ in 0..3 {
            login_from(&service, &alice.email, "guess", "203.0.113.1").await.assert(401, wrong_password());
        }
        assert_throttled(&login_from(&service, &alice.email, "guess", "203.0.113.1").await, BACKOFF);
        token_of(&login_from(&service, &alice.email, &alice.password, owner).await);
        // Cap the account (five failures in the window)…
        for address in ["203.0.113.2", "203.0.113.2"] {
            login_from(&service, &alice.email, "guess", address).await.assert(401, wrong_password());
        }
        // …and keep attacking from a fresh address each back-off.
        service.clock.advance(60);
        for round in 0..4 {
            let attacker = format!("203.0.113.{}", 10 + round);
            login_from(&service, &alice.email, "guess", &attacker).await.assert(401, wrong_password());
            let wait = assert_throttled(&login_from(&service, &alice.email, &alice.password, owner).await, BACKOFF);
            service.clock.advance(i64::try_from(wait).unwrap_or(60));
            let token = token_of(&login_from(&service, &alice.email, &alice.password, owner).await);
            assert_live(&service, &token, &alice).await;
        }
    }

    /// On SQL storage the failures live in the database: a restart does
    /// not reset the address's count (on file storage they are kept in
    /// memory, as the README says, and a restart forgets them).
    async fn a_restart_keeps_the_failure_count_on_sql_only(backend: Backend) {
        if backend == Backend::Memory {
            // A restart of the memory backend loses the users too.
            return;
        }
        let (service, alice) = throttled(backend, "session_db_auth").await;
        let address = "198.51.100.30";
        for _ in 0..3 {
            login_from(&service, &alice.email, "guess", address).await.assert(401, wrong_password());
        }
        let service = service.restart().await;
        let reply = login_from(&service, &alice.email, &alice.password, address).await;
        if backend == Backend::File {
            reply.assert_status(200);
        } else {
            assert_throttled(&reply, BACKOFF);
        }
    }

    // ================================================= 2. session lifetime

    /// With `SESSION_IDLE_TIMEOUT=600`, a session used every 500 s stays
    /// valid long past 600 s of age.
    async fn a_session_in_use_outlives_the_idle_timeout(backend: Backend) {
        for name in EXPIRING {
            let (service, alice, _bob) = with_users(backend, name, |s| s.session_idle_timeout = 600).await;
            let token = service.login(&alice).await;
            for _ in 0..6 {
                service.clock.advance(500);
                assert_live(&service, &token, &alice).await;
            }
        }
    }

    /// A session not used for longer than the idle timeout ends: valid at
    /// exactly 600 s without use, 403 at 601 s.
    async fn a_session_unused_for_longer_than_the_idle_timeout_ends(backend: Backend) {
        for name in EXPIRING {
            let (service, alice, _bob) = with_users(backend, name, |s| s.session_idle_timeout = 600).await;
            let at_the_limit = service.login(&alice).await;
            let past_it = service.login(&alice).await;
            service.clock.advance(600);
            assert_live(&service, &at_the_limit, &alice).await;
            service.clock.advance(1);
            assert_dead(&service, &past_it).await;
            // The one used at 600 s goes on.
            assert_live(&service, &at_the_limit, &alice).await;
        }
    }

    /// Activity never extends `SESSION_DURATION`: used every 500 s, the
    /// session still resolves at exactly the duration and is 403 one second
    /// later.
    async fn activity_never_extends_the_absolute_session_duration(backend: Backend) {
        for name in EXPIRING {
            let (service, alice, _bob) = with_users(backend, name, |s| {
                s.session_idle_timeout = 600;
                s.session_duration = 3600;
            })
            .await;
            let token = service.login(&alice).await;
            for _ in 0..7 {
                service.clock.advance(500);
                assert_live(&service, &token, &alice).await;
            }
            service.clock.advance(100);
            assert_live(&service, &token, &alice).await;
            service.clock.advance(1);
            assert_dead(&service, &token).await;
        }
    }

    /// With the idle timeout off (the default), an unused session lasts
    /// its whole `SESSION_DURATION` (and under `session_auth`, forever).
    async fn without_an_idle_timeout_sessions_do_not_idle_out(backend: Backend) {
        for name in EXPIRING {
            let (service, alice, _bob) = with_users(backend, name, |s| s.session_duration = 3600).await;
            assert_eq!(service.settings.session_idle_timeout, 0);
            let token = service.login(&alice).await;
            service.clock.advance(3600);
            assert_live(&service, &token, &alice).await;
            service.clock.advance(1);
            assert_dead(&service, &token).await;
        }
        let (service, alice, _bob) = with_users(backend, "session_auth", |_| {}).await;
        let token = service.login(&alice).await;
        service.clock.advance(30 * 86_400);
        assert_live(&service, &token, &alice).await;
    }

    /// The write that records activity happens at most once per min(60 s,
    /// idle timeout ÷ 2): `last_used_at` (seen through `GET
    /// /auth_session/sessions` from another session) does not move for
    /// requests within the interval, and moves to the request's time after.
    async fn activity_is_recorded_at_most_once_per_interval(backend: Backend) {
        for name in EXPIRING {
            for (idle, interval) in [(600, 60), (40, 20), (0, 60)] {
                let (service, alice, _bob) = with_users(backend, name, |s| s.session_idle_timeout = idle).await;
                let used = service.login(&alice).await;
                let observer = service.login(&alice).await;
                let handle = own_handle(&service, &used).await;
                let last_used = |listed: Vec<Value>| {
                    listed
                        .into_iter()
                        .find(|s| s["id"] == handle.as_str())
                        .map(|s| s["last_used_at"].as_str().unwrap_or_default().to_owned())
                        .unwrap_or_else(|| panic!("{name} idle {idle}: the session is not listed"))
                };
                let mut elapsed = 0;
                let mut recorded = 0;
                for step in [interval - 1, 1, interval - 1, 1] {
                    service.clock.advance(step);
                    elapsed += step;
                    assert_live(&service, &used, &alice).await;
                    if elapsed - recorded >= interval {
                        recorded = elapsed;
                    }
                    assert_eq!(
                        last_used(sessions(&service, &observer).await),
                        at(recorded),
                        "{name}, idle {idle}: after a request at +{elapsed} s"
                    );
                }
                assert_eq!(recorded, 2 * interval, "{name}, idle {idle}");
            }
        }
    }

    /// The sweeper (`prune_expired`, what the background task and
    /// `session-auth sessions prune` run) removes sessions past their
    /// duration or their idle timeout, from storage, and keeps live ones.
    async fn the_sweeper_removes_expired_sessions_and_keeps_live_ones(backend: Backend) {
        for name in EXPIRING {
            let (service, alice, _bob) = with_users(backend, name, |s| {
                s.session_idle_timeout = 600;
                s.session_duration = 3600;
            })
            .await;
            let idle = service.login(&alice).await;
            let old = service.login(&alice).await;
            let idle_handle = own_handle(&service, &idle).await;
            let old_handle = own_handle(&service, &old).await;
            for _ in 0..7 {
                service.clock.advance(500);
                assert_live(&service, &old, &alice).await;
            }
            let live = service.login(&alice).await;
            let live_handle = own_handle(&service, &live).await;
            service.clock.advance(101);
            // Now: `old` is 3601 s old, `idle` unused for 3601 s, `live`
            // unused for 101 s.
            if name == "session_db_auth" {
                let mut all = vec![idle_handle.clone(), old_handle.clone(), live_handle.clone()];
                all.sort();
                assert_eq!(stored_handles(&service, &alice).await, all, "before the sweep");
            }
            let removed = service.use_cases().housekeeping.prune_expired().await.unwrap_or_else(|e| panic!("prune: {e}"));
            assert_eq!(removed, 2, "{name}: the idle and the old session");
            assert_eq!(service.use_cases().housekeeping.prune_expired().await.unwrap_or_else(|e| panic!("prune: {e}")), 0, "{name}");
            if name == "session_db_auth" {
                assert_eq!(stored_handles(&service, &alice).await, vec![live_handle.clone()], "after the sweep");
                if backend == Backend::File {
                    let file = service.read_file(".db_UserSession.json");
                    assert!(file.contains(&live_handle), "{file}");
                    assert!(!file.contains(&idle_handle) && !file.contains(&old_handle), "{file}");
                }
            }
            assert_live(&service, &live, &alice).await;
            let listed = sessions(&service, &live).await;
            assert_eq!(listed.len(), 1, "{listed:?}");
        }
    }

    // ============================================ 3. fixation and logout

    /// A login never adopts the cookie the client sent: whatever value it
    /// carries (made up, or another user's live token) the answer sets a
    /// new token, and the value sent does not become this user's session.
    async fn a_login_never_adopts_the_token_the_client_sent(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, alice, bob) = with_users(backend, name, |_| {}).await;
            for planted in ["attacker-chosen", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "0d0f6a2c-3c4e-4a55-9c6b-2b1e0e6f1a11"] {
                let reply = service
                    .post(LOGIN)
                    .cookie(planted)
                    .form(&[("email", &alice.email), ("password", &alice.password)])
                    .send()
                    .await;
                reply.assert(200, user_json(&alice, START));
                let token = reply.set_cookie().value;
                assert_ne!(token, planted, "{name}");
                assert_dead(&service, planted).await;
                assert_live(&service, &token, &alice).await;
            }
            // Bob's live token sent along alice's login stays bob's.
            let bobs = service.login(&bob).await;
            let reply = service
                .post(LOGIN)
                .cookie(&bobs)
                .form(&[("email", &alice.email), ("password", &alice.password)])
                .send()
                .await;
            let token = token_of(&reply);
            assert_ne!(token, bobs, "{name}");
            assert_live(&service, &bobs, &bob).await;
            assert_live(&service, &token, &alice).await;
        }
    }

    /// Logout answers `200 {}` with `Set-Cookie: <name>=; Max-Age=0;
    /// Path=/`, which expires the old cookie; the token is dead.
    async fn logout_expires_the_cookie(backend: Backend) {
        for name in SESSION_TYPES {
            let service = Service::builder(backend).auth_type(name).session_name("sid").start().await;
            let alice = service.create_user("alice@example.com", "alice-pw").await;
            let token = service.login(&alice).await;
            let reply = service.delete(LOGOUT).cookie(&token).send().await;
            reply.assert(200, json!({}));
            assert_expires_the_cookie(&reply, "sid");
            assert_dead(&service, &token).await;
        }
    }

    // ============================================= 4. a user's own sessions

    /// `GET /auth_session/sessions` lists exactly the user's sessions:
    /// handle, created, last used, the client address (from a trusted
    /// `X-Forwarded-For`) and user agent recorded at login, and which one
    /// is the request's; another user's never appear.
    async fn a_user_lists_exactly_their_own_sessions(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, alice, bob) = with_users(backend, name, |s| s.trust_forwarded_for = true).await;
            let mut tokens = Vec::new();
            for (address, agent) in [("203.0.113.1", "Browser/1.0"), ("2001:db8::7", "Phone/2.0")] {
                let reply = service
                    .post(LOGIN)
                    .from_address(address)
                    .header("User-Agent", agent)
                    .form(&[("email", &alice.email), ("password", &alice.password)])
                    .send()
                    .await;
                tokens.push(token_of(&reply));
                service.clock.advance(10);
            }
            let bobs = token_of(
                &service
                    .post(LOGIN)
                    .from_address("198.51.100.3")
                    .header("User-Agent", "Bob/3")
                    .form(&[("email", &bob.email), ("password", &bob.password)])
                    .send()
                    .await,
            );
            let reply = service.get(SESSIONS).cookie(&tokens[1]).send().await;
            reply.assert_status(200);
            assert_eq!(reply.header("cache-control"), Some("no-store"));
            let listed = reply.json();
            let bob_handle = own_handle(&service, &bobs).await;
            let handles: Vec<&str> = listed.as_array().map(|a| a.iter().filter_map(|s| s["id"].as_str()).collect()).unwrap_or_default();
            assert_eq!(handles.len(), 2, "{name}: {listed}");
            assert_ne!(handles[0], handles[1]);
            assert!(!handles.contains(&bob_handle.as_str()), "{name}: bob's session listed for alice");
            for handle in &handles {
                let uuid = uuid::Uuid::try_parse(handle).unwrap_or_else(|e| panic!("handle {handle}: {e}"));
                assert!(!tokens.contains(&handle.to_string()) && uuid.get_version_num() == 4);
            }
            assert_eq!(
                listed,
                json!([
                    {"id": handles[0], "created_at": START, "last_used_at": START,
                     "client_address": "203.0.113.1", "user_agent": "Browser/1.0", "current": false},
                    {"id": handles[1], "created_at": at(10), "last_used_at": at(10),
                     "client_address": "2001:db8::7", "user_agent": "Phone/2.0", "current": true},
                ]),
                "{name}"
            );
            let bobs_list = sessions(&service, &bobs).await;
            assert_eq!(
                bobs_list,
                vec![json!({"id": bob_handle, "created_at": at(20), "last_used_at": at(20),
                            "client_address": "198.51.100.3", "user_agent": "Bob/3", "current": true})],
                "{name}"
            );
        }
    }

    /// `X-Forwarded-For` is only believed when trusted: by default the
    /// header is ignored (and these in-process requests have no peer, so
    /// no address is known); no `User-Agent` → null.
    async fn the_client_address_comes_from_forwarded_for_only_when_trusted(backend: Backend) {
        let (service, alice, _bob) = with_users(backend, "session_db_auth", |_| {}).await;
        let token = token_of(
            &service
                .post(LOGIN)
                .from_address("203.0.113.66")
                .form(&[("email", &alice.email), ("password", &alice.password)])
                .send()
                .await,
        );
        let listed = sessions(&service, &token).await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["client_address"], Value::Null, "{listed:?}");
        assert_eq!(listed[0]["user_agent"], Value::Null, "{listed:?}");
    }

    /// `DELETE /auth_session/sessions?keep_current=true` ends the user's
    /// other sessions, keeps the request's own, answers `{"ended": n}` and
    /// leaves the cookie alone; other users' sessions stay.
    async fn ending_the_other_sessions_keeps_this_one(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, alice, bob) = with_users(backend, name, |_| {}).await;
            let mine = service.login(&alice).await;
            let others = [service.login(&alice).await, service.login(&alice).await];
            let bobs = service.login(&bob).await;
            let reply = service.delete(&format!("{SESSIONS}?keep_current=true")).cookie(&mine).send().await;
            reply.assert(200, json!({"ended": 2}));
            assert!(!reply.has_header("set-cookie"), "{name}: {:?}", reply.headers);
            for other in &others {
                assert_dead(&service, other).await;
            }
            assert_live(&service, &mine, &alice).await;
            assert_live(&service, &bobs, &bob).await;
            assert_eq!(sessions(&service, &mine).await.len(), 1);
            // Nothing left to end.
            service
                .delete(&format!("{SESSIONS}/?keep_current=true"))
                .cookie(&mine)
                .send()
                .await
                .assert(200, json!({"ended": 0}));
        }
    }

    /// `DELETE /auth_session/sessions` ends every session of the user, the
    /// request's own included, and expires its cookie.
    async fn ending_all_sessions_ends_this_one_too(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, alice, bob) = with_users(backend, name, |_| {}).await;
            let mine = service.login(&alice).await;
            let other = service.login(&alice).await;
            let bobs = service.login(&bob).await;
            let reply = service.delete(SESSIONS).cookie(&mine).send().await;
            reply.assert(200, json!({"ended": 2}));
            assert_expires_the_cookie(&reply, "_my_session_id");
            assert_dead(&service, &mine).await;
            assert_dead(&service, &other).await;
            assert_live(&service, &bobs, &bob).await;
        }
    }

    /// `DELETE /auth_session/sessions/<handle>` ends that one session
    /// (another one's handle: the cookie stays; the request's own: the
    /// cookie is expired too).
    async fn ending_one_session_by_its_handle(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, alice, _bob) = with_users(backend, name, |_| {}).await;
            let mine = service.login(&alice).await;
            let other = service.login(&alice).await;
            let other_handle = own_handle(&service, &other).await;
            let reply = service.delete(&format!("{SESSIONS}/{other_handle}")).cookie(&mine).send().await;
            reply.assert(200, json!({}));
            assert!(!reply.has_header("set-cookie"), "{name}: {:?}", reply.headers);
            assert_dead(&service, &other).await;
            assert_live(&service, &mine, &alice).await;
            // Again: it is gone.
            service
                .delete(&format!("{SESSIONS}/{other_handle}"))
                .cookie(&mine)
                .send()
                .await
                .assert(404, json!({"error": "Not found"}));
            let my_handle = own_handle(&service, &mine).await;
            let reply = service.delete(&format!("{SESSIONS}/{my_handle}")).cookie(&mine).send().await;
            reply.assert(200, json!({}));
            assert_expires_the_cookie(&reply, "_my_session_id");
            assert_dead(&service, &mine).await;
        }
    }

    /// Another user's handle is unknown here: 404, and that session goes
    /// on; so does a handle that is no UUID, or a token sent as a handle.
    async fn another_users_handle_is_404_and_that_session_still_works(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, alice, bob) = with_users(backend, name, |_| {}).await;
            let mine = service.login(&alice).await;
            let bobs = service.login(&bob).await;
            let bob_handle = own_handle(&service, &bobs).await;
            for handle in [bob_handle.as_str(), "not-a-handle", bobs.as_str()] {
                service
                    .delete(&format!("{SESSIONS}/{handle}"))
                    .cookie(&mine)
                    .send()
                    .await
                    .assert(404, json!({"error": "Not found"}));
            }
            assert_live(&service, &bobs, &bob).await;
            assert_live(&service, &mine, &alice).await;
            assert_eq!(sessions(&service, &bobs).await.len(), 1);
        }
    }

    // ================================================== 5. password change

    /// `PUT /users/me/password` re-hashes: the old password now fails with
    /// 401 "wrong password", the new one logs in; the user's other sessions
    /// end, the request's own stays, other users' stay.
    async fn changing_the_password_ends_the_other_sessions_and_keeps_this_one(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, alice, bob) = with_users(backend, name, |_| {}).await;
            let mine = service.login(&alice).await;
            let other = service.login(&alice).await;
            let bobs = service.login(&bob).await;
            service.clock.advance(5);
            let reply = change_password(&service, &mine, "alice-pw", "alice-new-pw").await;
            reply.assert_status(200);
            assert_eq!(reply.header("cache-control"), Some("no-store"));
            assert!(!reply.has_header("set-cookie"), "{name}");
            let user = reply.json();
            assert_user_shape(&user);
            assert_eq!(user["id"], alice.id.as_str());
            assert_eq!(user["email"], alice.email.as_str());
            assert_eq!(user["created_at"], START);
            assert_dead(&service, &other).await;
            assert_live(&service, &mine, &alice).await;
            assert_live(&service, &bobs, &bob).await;
            service
                .post(LOGIN)
                .form(&[("email", &alice.email), ("password", "alice-pw")])
                .send()
                .await
                .assert(401, wrong_password());
            let token = token_of(
                &service
                    .post(LOGIN)
                    .form(&[("email", &alice.email), ("password", "alice-new-pw")])
                    .send()
                    .await,
            );
            assert_live(&service, &token, &alice).await;
        }
    }

    /// A wrong current password → `401 {"error": "wrong password"}` and
    /// nothing changes: the other sessions stay, the old password still
    /// works, the new one does not.
    async fn a_wrong_current_password_changes_nothing(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, alice, _bob) = with_users(backend, name, |_| {}).await;
            let mine = service.login(&alice).await;
            let other = service.login(&alice).await;
            change_password(&service, &mine, "not-alice-pw", "alice-new-pw").await.assert(401, wrong_password());
            assert_live(&service, &other, &alice).await;
            assert_live(&service, &mine, &alice).await;
            service.login(&alice).await;
            service
                .post(LOGIN)
                .form(&[("email", &alice.email), ("password", "alice-new-pw")])
                .send()
                .await
                .assert(401, wrong_password());
        }
    }

    /// New passwords longer than 128 characters are refused with `400
    /// {"error": "new_password: password must be at most 128 characters"}`
    /// (nothing changes); 128 characters (multi-byte ones too) are fine.
    /// `POST /users` applies the same limit.
    async fn new_passwords_longer_than_128_characters_are_refused(backend: Backend) {
        let (service, alice, _bob) = with_users(backend, "session_db_auth", |_| {}).await;
        let mine = service.login(&alice).await;
        let other = service.login(&alice).await;
        let too_long = "x".repeat(129);
        change_password(&service, &mine, "alice-pw", &too_long)
            .await
            .assert(400, json!({"error": "new_password: password must be at most 128 characters"}));
        assert_live(&service, &other, &alice).await;
        service.login(&alice).await;
        service
            .post(USERS)
            .cookie(&mine)
            .json(&json!({"email": "long@example.com", "password": too_long}))
            .send()
            .await
            .assert(400, json!({"error": "Can't create User: password must be at most 128 characters"}));
        let longest = "é".repeat(128);
        change_password(&service, &mine, "alice-pw", &longest).await.assert_status(200);
        let relogged = Account { password: longest.clone(), ..alice.clone() };
        service.login(&relogged).await;
        service
            .post(USERS)
            .cookie(&mine)
            .json(&json!({"email": "long@example.com", "password": "y".repeat(128)}))
            .send()
            .await
            .assert_status(201);
    }

    /// `PASSWORD_MIN_LENGTH=8` refuses 7 characters at the password change
    /// and at `POST /users`, and accepts 8; by default one character is
    /// enough (the Flask API's rule).
    async fn a_configured_minimum_password_length_is_enforced(backend: Backend) {
        let (service, alice, _bob) = with_users(backend, "session_db_auth", |s| s.passwords.min_length = 8).await;
        let mine = service.login(&alice).await;
        change_password(&service, &mine, "alice-pw", "seven77")
            .await
            .assert(400, json!({"error": "new_password: password must be at least 8 characters"}));
        service
            .post(USERS)
            .cookie(&mine)
            .json(&json!({"email": "short@example.com", "password": "seven77"}))
            .send()
            .await
            .assert(400, json!({"error": "Can't create User: password must be at least 8 characters"}));
        service.login(&alice).await;
        change_password(&service, &mine, "alice-pw", "eight888").await.assert_status(200);
        service
            .post(USERS)
            .cookie(&mine)
            .json(&json!({"email": "short@example.com", "password": "eight888"}))
            .send()
            .await
            .assert_status(201);

        let (service, alice, _bob) = with_users(backend, "session_db_auth", |_| {}).await;
        let mine = service.login(&alice).await;
        service
            .post(USERS)
            .cookie(&mine)
            .json(&json!({"email": "one@example.com", "password": "1"}))
            .send()
            .await
            .assert_status(201);
        change_password(&service, &mine, "alice-pw", "2").await.assert_status(200);
    }

    /// Missing or empty fields → `400 {"error": "current_password missing"}`
    /// (checked first) or `"new_password missing"`; a body that is not
    /// JSON → `400 {"error": "Wrong format"}`; nothing changes.
    async fn an_incomplete_password_change_is_400(backend: Backend) {
        let (service, alice, _bob) = with_users(backend, "session_db_auth", |_| {}).await;
        let mine = service.login(&alice).await;
        let other = service.login(&alice).await;
        let current_missing = json!({"error": "current_password missing"});
        let new_missing = json!({"error": "new_password missing"});
        for (body, expected) in [
            (json!({}), &current_missing),
            (json!({"new_password": "n"}), &current_missing),
            (json!({"current_password": "", "new_password": "n"}), &current_missing),
            (json!({"current_password": null, "new_password": "n"}), &current_missing),
            (json!({"current_password": "alice-pw"}), &new_missing),
            (json!({"current_password": "alice-pw", "new_password": ""}), &new_missing),
            (json!({"current_password": "alice-pw", "new_password": null}), &new_missing),
        ] {
            service.put(PASSWORD).cookie(&mine).json(&body).send().await.assert(400, expected.clone());
        }
        for (content_type, body) in [
            ("application/json", "{not json"),
            ("application/json", "[1, 2]"),
            ("text/plain", r#"{"current_password": "alice-pw", "new_password": "n"}"#),
            ("application/x-www-form-urlencoded", "current_password=alice-pw&new_password=n"),
        ] {
            service
                .put(PASSWORD)
                .cookie(&mine)
                .body(content_type, body)
                .send()
                .await
                .assert(400, json!({"error": "Wrong format"}));
        }
        assert_live(&service, &other, &alice).await;
        service.login(&alice).await;
    }

    /// Under `basic_auth` the password changes with Basic credentials: the
    /// old ones are then refused (403), the new ones pass. The route still
    /// sits behind the gate (no credentials → 401).
    async fn under_basic_auth_the_password_changes_with_basic_credentials(backend: Backend) {
        let (service, alice, _bob) = with_users(backend, "basic_auth", |_| {}).await;
        service
            .put(PASSWORD)
            .json(&json!({"current_password": "alice-pw", "new_password": "alice-new-pw"}))
            .send()
            .await
            .assert(401, json!({"error": "Unauthorized"}));
        let reply = service
            .put(PASSWORD)
            .basic(&alice.email, "alice-pw")
            .json(&json!({"current_password": "alice-pw", "new_password": "alice-new-pw"}))
            .send()
            .await;
        reply.assert_status(200);
        assert_eq!(reply.json()["id"], alice.id.as_str());
        service.get(ME).basic(&alice.email, "alice-pw").send().await.assert(403, forbidden());
        service.get(ME).basic(&alice.email, "alice-new-pw").send().await.assert(200, reply.json());
    }

    // ========================================================= 6. headers

    /// `Cache-Control: no-store` on every response that carries user data
    /// or a session, and on errors.
    async fn responses_with_user_data_sessions_or_errors_are_not_stored(backend: Backend) {
        let (service, alice, _bob) = with_users(backend, "session_db_auth", |_| {}).await;
        let login = service
            .post(LOGIN)
            .form(&[("email", &alice.email), ("password", &alice.password)])
            .send()
            .await;
        let token = token_of(&login);
        let mut replies = vec![login];
        replies.push(service.get(ME).cookie(&token).send().await);
        replies.push(service.get(USERS).cookie(&token).send().await);
        replies.push(service.get(&format!("{USERS}/{}", alice.id)).cookie(&token).send().await);
        replies.push(
            service
                .post(USERS)
                .cookie(&token)
                .json(&json!({"email": "carol@example.com", "password": "carol-pw"}))
                .send()
                .await,
        );
        replies.push(service.get(SESSIONS).cookie(&token).send().await);
        // Errors.
        replies.push(service.get(ME).send().await);
        replies.push(service.get(ME).cookie("nobody").send().await);
        replies.push(service.get("/api/v1/nowhere").cookie(&token).send().await);
        replies.push(service.post(USERS).cookie(&token).body("application/json", "{").send().await);
        replies.push(service.post(LOGIN).form(&[("email", &alice.email), ("password", "nope")]).send().await);
        replies.push(service.post(LOGIN).form(&[("email", "ghost@example.com"), ("password", "nope")]).send().await);
        replies.push(service.delete(LOGOUT).cookie(&token).send().await);
        let expected = [200, 200, 200, 200, 201, 200, 401, 403, 404, 400, 401, 404, 200];
        for (reply, status) in replies.iter().zip(expected) {
            reply.assert_status(status);
            assert_eq!(reply.header("cache-control"), Some("no-store"), "{}", reply.request);
        }
        // Under basic_auth too.
        let (service, alice, _bob) = with_users(backend, "basic_auth", |_| {}).await;
        for reply in [
            service.get(ME).basic(&alice.email, &alice.password).send().await,
            service.get(ME).basic(&alice.email, "nope").send().await,
            service.get(ME).send().await,
        ] {
            assert_eq!(reply.header("cache-control"), Some("no-store"), "{}", reply.request);
        }
    }

    /// Under `basic_auth` a 401 carries `WWW-Authenticate: Basic
    /// realm="session-auth"`; under every other policy a 401 carries none
    /// (a browser must not pop up a Basic dialog for a cookie API).
    async fn only_basic_auth_invites_basic_credentials_on_a_401(backend: Backend) {
        let (service, _alice, _bob) = with_users(backend, "basic_auth", |_| {}).await;
        for path in [ME, USERS, "/api/v1/unauthorized", "/api/v1/nowhere"] {
            let reply = service.get(path).send().await;
            reply.assert(401, json!({"error": "Unauthorized"}));
            assert_eq!(reply.header("www-authenticate"), Some(r#"Basic realm="session-auth""#), "{path}");
        }
        for name in GUARDED.into_iter().filter(|n| *n != "basic_auth") {
            let (service, alice, _bob) = with_users(backend, name, |_| {}).await;
            let mut replies = vec![service.get(ME).send().await, service.get("/api/v1/unauthorized").send().await];
            if SESSION_TYPES.contains(&name) {
                replies.push(service.post(LOGIN).form(&[("email", &alice.email), ("password", "nope")]).send().await);
            }
            for reply in replies {
                reply.assert_status(401);
                assert!(!reply.has_header("www-authenticate"), "{name}: {}", reply.request);
            }
        }
    }

    /// A request body over the limit (`body_limit = 1024`) → `413` with a
    /// JSON error, at `POST /users` and at the login form, whether the
    /// length is declared or not, before the gate; a body of exactly the
    /// limit is processed normally.
    async fn bodies_over_the_limit_are_413_and_at_the_limit_are_processed(backend: Backend) {
        let (service, alice, _bob) = with_users(backend, "session_db_auth", |s| s.body_limit = 1024).await;
        let token = service.login(&alice).await;
        let too_large = json!({"error": "Payload too large"});
        let big_user = user_body_of_size("big@example.com", 1025);
        let big_form = login_form_of_size(&alice, 1025);
        for declared in [false, true] {
            let user = service.post(USERS).cookie(&token).body("application/json", big_user.clone());
            let anonymous = service.post(USERS).body("application/json", big_user.clone());
            let form = service.post(LOGIN).body("application/x-www-form-urlencoded", big_form.clone());
            for call in [user, anonymous, form] {
                let call = if declared { call.header("Content-Length", "1025") } else { call };
                let reply = call.send().await;
                reply.assert(413, too_large.clone());
                assert_eq!(reply.header("cache-control"), Some("no-store"));
                assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
                assert!(!reply.has_header("set-cookie"));
            }
        }
        // Nothing was created.
        service.post(LOGIN).form(&[("email", "big@example.com"), ("password", "pw")]).send().await.assert(404, no_user());
        // At the limit.
        let reply = service
            .post(USERS)
            .cookie(&token)
            .body("application/json", user_body_of_size("big@example.com", 1024))
            .send()
            .await;
        reply.assert_status(201);
        assert_eq!(reply.json()["email"], "big@example.com");
        let reply = service
            .post(LOGIN)
            .body("application/x-www-form-urlencoded", login_form_of_size(&alice, 1024))
            .send()
            .await;
        reply.assert(200, user_json(&alice, START));
        assert_live(&service, &reply.set_cookie().value, &alice).await;
    }

    // ======================================== Part A for well-behaved clients

    /// A well-behaved client sees exactly Part A: login, me, logout, and
    /// the Flask API's errors, under every session policy with the
    /// defaults (the limits are far away).
    async fn part_a_is_unchanged_for_a_well_behaved_client(backend: Backend) {
        for name in SESSION_TYPES {
            let (service, alice, _bob) = with_users(backend, name, |_| {}).await;
            service.get(ME).send().await.assert(401, json!({"error": "Unauthorized"}));
            service.post(LOGIN).form(&[("password", "x")]).send().await.assert(400, json!({"error": "email missing"}));
            service.post(LOGIN).form(&[("email", &alice.email)]).send().await.assert(400, json!({"error": "password missing"}));
            service.post(LOGIN).form(&[("email", "ghost@example.com"), ("password", "x")]).send().await.assert(404, no_user());
            for _ in 0..3 {
                service.post(LOGIN).form(&[("email", &alice.email), ("password", "typo")]).send().await.assert(401, wrong_password());
            }
            let reply = service
                .post(LOGIN)
                .form(&[("email", &alice.email), ("password", &alice.password)])
                .send()
                .await;
            reply.assert(200, user_json(&alice, START));
            let cookie = reply.set_cookie();
            assert_eq!(cookie.name, "_my_session_id");
            assert_eq!(cookie.attribute("Path"), Some("/"));
            service.get(ME).cookie(&cookie.value).send().await.assert(200, user_json(&alice, START));
            service.get(&format!("{USERS}/{}", alice.id)).cookie(&cookie.value).send().await.assert(200, user_json(&alice, START));
            service.delete(LOGOUT).cookie(&cookie.value).send().await.assert(200, json!({}));
            service.get(ME).cookie(&cookie.value).send().await.assert(403, forbidden());
            service.delete(LOGOUT).cookie(&cookie.value).send().await.assert(403, forbidden());
        }
        let (service, alice, _bob) = with_users(backend, "basic_auth", |_| {}).await;
        service.get(ME).basic(&alice.email, &alice.password).send().await.assert(200, user_json(&alice, START));
        service.get(ME).basic(&alice.email, "typo").send().await.assert(403, forbidden());
        service.post(LOGIN).form(&[("email", &alice.email), ("password", &alice.password)]).send().await.assert(404, json!({"error": "Not found"}));
    }
}
