//! Unit tests of the cache: the epoch guard (by key), forgetting by user, the
//! bound, trust lost with the listener or given up with the row, and the
//! payloads.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use domain::{Email, PasswordHash, Session, SessionId, SessionKey, User, UserId};
use uuid::Uuid;

use super::change::Change;
use super::session_cache::{Lookup, SessionCache};

fn user() -> User {
    let at = Utc
        .with_ymd_and_hms(2024, 1, 1, 12, 0, 0)
        .single()
        .expect("a date");
    User {
        id: UserId::generate(),
        email: Email::parse("ann@example.com".to_owned()).expect("an email"),
        password_hash: PasswordHash::Unusable,
        first_name: None,
        last_name: None,
        created_at: at,
        updated_at: at,
        is_admin: false,
    }
}

fn session_of(user: &User, token: &str) -> Session {
    Session {
        id: SessionId::generate(),
        key: SessionKey::digest_of(token),
        user_id: user.id,
        created_at: user.created_at,
        updated_at: user.created_at,
        last_used_at: user.created_at,
        client_address: None,
        user_agent: None,
    }
}

impl SessionCache {
    /// The hit of [`SessionCache::lookup`], if any.
    fn get(&self, digest: &str) -> Option<(Session, User)> {
        match self.lookup(digest) {
            Lookup::Hit(session, user) => Some((session, user)),
            Lookup::Miss(_) => None,
        }
    }

    /// The epoch a look-up of a session not held hands out.
    fn epoch(&self) -> Option<u64> {
        match self.lookup("no such digest") {
            Lookup::Miss(epoch) => epoch,
            Lookup::Hit(..) => panic!("no session is held under that digest"),
        }
    }
}

fn listening(capacity: usize) -> Arc<SessionCache> {
    let (cache, _) = SessionCache::new(capacity);
    cache.heard_own_ping(cache.now_ms(), 1);
    cache
}

#[test]
fn a_read_that_raced_a_change_is_not_kept() {
    let cache = listening(10);
    let user = user();
    let session = session_of(&user, "t1");
    let digest = session.key.as_str();
    let epoch = cache.epoch().expect("a listening cache may be filled");
    // The change lands between the read and its keeping.
    cache.forget(&Change::Session(digest));
    cache.keep(epoch, digest, &session, &user);
    assert!(cache.get(digest).is_none());
    // A read taken after the change is kept.
    let epoch = cache.epoch().expect("still listening");
    cache.keep(epoch, digest, &session, &user);
    assert_eq!(cache.get(digest), Some((session, user)));
}

#[test]
fn a_user_change_forgets_all_their_sessions_and_only_theirs() {
    let cache = listening(10);
    let (ann, bob) = (user(), user());
    let ann_sessions = [session_of(&ann, "a1"), session_of(&ann, "a2")];
    let bob_session = session_of(&bob, "b1");
    for session in &ann_sessions {
        let epoch = cache.epoch().expect("listening");
        cache.keep(epoch, session.key.as_str(), session, &ann);
    }
    let epoch = cache.epoch().expect("listening");
    cache.keep(epoch, bob_session.key.as_str(), &bob_session, &bob);
    cache.forget(&Change::User(ann.id.as_uuid()));
    for session in &ann_sessions {
        assert!(cache.get(session.key.as_str()).is_none());
    }
    assert!(cache.get(bob_session.key.as_str()).is_some());
    cache.forget(&Change::Everything);
    assert!(cache.get(bob_session.key.as_str()).is_none());
}

#[test]
fn the_cache_holds_at_most_its_capacity() {
    let cache = listening(2);
    let user = user();
    for token in ["t1", "t2", "t3", "t4"] {
        let session = session_of(&user, token);
        let epoch = cache.epoch().expect("listening");
        cache.keep(epoch, session.key.as_str(), &session, &user);
    }
    let entries = cache.read();
    assert_eq!(entries.by_digest.len(), 2);
    assert_eq!(entries.by_user.values().map(Vec::len).sum::<usize>(), 2);
}

#[test]
fn without_a_listener_or_after_losing_it_the_cache_answers_nothing() {
    let (cache, _) = SessionCache::new(10);
    assert!(cache.epoch().is_none(), "nobody listens yet");
    cache.heard_own_ping(cache.now_ms(), 1);
    let user = user();
    let session = session_of(&user, "t1");
    let epoch = cache.epoch().expect("listening");
    cache.keep(epoch, session.key.as_str(), &session, &user);
    assert!(cache.get(session.key.as_str()).is_some());
    cache.lost();
    assert!(cache.get(session.key.as_str()).is_none());
    assert!(cache.epoch().is_none());
    cache.heard_own_ping(cache.now_ms(), 1);
    assert!(
        cache.get(session.key.as_str()).is_none(),
        "emptied, not hidden"
    );
}

#[test]
fn payloads_name_their_change_and_anything_unknown_empties_the_cache() {
    let id = Uuid::new_v4();
    assert_eq!(Change::parse("sabc"), Change::Session("abc"));
    assert_eq!(Change::parse(&format!("u{id}")), Change::User(id));
    assert_eq!(Change::parse("unot-a-uuid"), Change::Everything);
    assert_eq!(Change::parse("*"), Change::Everything);
    assert_eq!(
        Change::parse(&format!("p{id}:42:7")),
        Change::Ping {
            from: id,
            sent: 42,
            seq: 7
        }
    );
    assert_eq!(
        Change::parse(&format!("p{id}:42")),
        Change::Ping {
            from: id,
            sent: 42,
            seq: 0
        },
        "a ping of an older build"
    );
    assert_eq!(Change::parse(&format!("q{id}")), Change::Probe { from: id });
    assert_eq!(
        Change::parse(&format!("f{id}:7")),
        Change::Fence {
            origin: id,
            number: 7
        }
    );
    let other = Uuid::new_v4();
    assert_eq!(
        Change::parse(&format!("a{id}:7:{other}")),
        Change::Ack {
            origin: id,
            number: 7,
            from: other
        }
    );
    assert_eq!(Change::parse("p"), Change::Everything);
    assert_eq!(Change::parse(&format!("a{id}:7")), Change::Everything);
    assert_eq!(Change::parse("?"), Change::Everything);
}

#[test]
fn after_giving_up_its_row_only_a_later_ping_gives_trust_back() {
    let cache = listening(10);
    assert!(cache.trusted());
    cache.give_up(5);
    assert!(
        !cache.trusted(),
        "giving up the row ends the answers at once"
    );
    // A ping sent before, heard late (its row was removed after it).
    let own = |sent, seq| Change::Ping {
        from: cache.id(),
        sent,
        seq,
    };
    assert_eq!(cache.receive(&own(cache.now_ms(), 4)), None);
    assert!(!cache.trusted(), "a ping numbered before giving up");
    assert!(!cache.hearing.load(std::sync::atomic::Ordering::Acquire));
    cache.receive(&own(cache.now_ms(), 5));
    assert!(cache.trusted(), "the first ping after");
}

#[test]
fn a_ping_sent_longer_ago_than_the_silence_gives_no_trust() {
    let (cache, _) = SessionCache::new(10);
    let silence = u64::try_from(super::session_cache::SILENCE.as_millis()).expect("ms");
    cache.heard_own_ping(cache.now_ms().saturating_sub(silence + 1), 1);
    assert!(!cache.trusted());
    // Its own probe shows the listener hears, and gives no trust either.
    cache.receive(&Change::Probe { from: cache.id() });
    assert!(cache.hearing.load(std::sync::atomic::Ordering::Acquire));
    assert!(!cache.trusted());
}

#[test]
fn a_read_is_discarded_only_by_a_change_naming_its_session_or_user() {
    let cache = listening(10);
    let (ann, bob) = (user(), user());
    let mine = session_of(&ann, "a1");
    let epoch = cache.epoch().expect("listening");
    // Other sessions and users change during the read: it is kept.
    cache.forget(&Change::Session(session_of(&bob, "b1").key.as_str()));
    cache.forget(&Change::User(bob.id.as_uuid()));
    cache.keep(epoch, mine.key.as_str(), &mine, &ann);
    assert!(cache.get(mine.key.as_str()).is_some());
    // Its user changes during the read: discarded.
    let other = session_of(&ann, "a2");
    let epoch = cache.epoch().expect("listening");
    cache.forget(&Change::User(ann.id.as_uuid()));
    cache.keep(epoch, other.key.as_str(), &other, &ann);
    assert!(cache.get(other.key.as_str()).is_none());
    // Everything emptied during the read: discarded.
    let epoch = cache.epoch().expect("listening");
    cache.forget(&Change::Everything);
    cache.keep(epoch, other.key.as_str(), &other, &ann);
    assert!(cache.get(other.key.as_str()).is_none());
    // More changes than are remembered: discarded, whatever they named.
    let epoch = cache.epoch().expect("listening");
    for n in 0..300 {
        cache.forget(&Change::Session(&format!("other-{n}")));
    }
    cache.keep(epoch, other.key.as_str(), &other, &ann);
    assert!(cache.get(other.key.as_str()).is_none());
}
