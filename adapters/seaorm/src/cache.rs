//! The server's cache of sessions and their users, on PostgreSQL, kept true
//! by the database's change notifications.
//!
//! The rule it serves: a change (logout, revoked session, deleted user,
//! new password or names), made by this instance, another one or the CLI,
//! is seen by the next request on every instance. So:
//!
//! - **This process's changes** forget the entries they touch before their
//!   caller is answered (synchronously, under the cache's lock).
//! - **Everyone's changes** are announced by triggers (migration
//!   `m20261220_000007_change_notifications`) on the channel
//!   `session_auth_changes` when they commit; a listener connection of
//!   this process forgets what they name.
//! - **A look-up that raced a change** is not cached: every change bumps
//!   an epoch, and a row read from the database is kept only if the epoch
//!   is still the one seen before the read.
//! - **No word, no cache**: the cache answers only while its listener has
//!   heard from the database within [`SILENCE`] (every instance sends a
//!   ping notification each [`PING_EVERY`]), and empties itself when the
//!   listener's connection drops; it is filled again once the listener is
//!   back. A look-up the cache cannot answer goes to the database.
//! - **Bounded**: at most the configured number of entries
//!   (`SESSION_CACHE_SIZE`); when full, an arbitrary entry makes room.
//!   Absent sessions and sessions of deleted users are never kept.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use domain::{Session, User};
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio::sync::watch;
use uuid::Uuid;

/// The channel the triggers notify.
pub(crate) const CHANNEL: &str = "session_auth_changes";

/// How often each instance pings the channel, proving its listener alive.
pub(crate) const PING_EVERY: Duration = Duration::from_secs(1);

/// How long the cache trusts a listener that has heard nothing.
pub(crate) const SILENCE: Duration = Duration::from_secs(3);

/// Wait before the listener connects again after losing its connection.
const RECONNECT_AFTER: Duration = Duration::from_millis(200);

/// What the cache keeps under a session's digest.
#[derive(Clone)]
struct Entry {
    session: Session,
    user: User,
}

#[derive(Default)]
struct Entries {
    /// Bumped by every change heard or made; a read from the database is
    /// kept only if it did not move meanwhile.
    epoch: u64,
    by_digest: HashMap<String, Entry>,
    by_user: HashMap<Uuid, Vec<String>>,
}

impl Entries {
    fn remove_session(&mut self, digest: &str) {
        if let Some(entry) = self.by_digest.remove(digest) {
            let user = entry.user.id.as_uuid();
            if let Some(digests) = self.by_user.get_mut(&user) {
                digests.retain(|d| d != digest);
                if digests.is_empty() {
                    self.by_user.remove(&user);
                }
            }
        }
    }

    fn remove_user(&mut self, user: &Uuid) {
        for digest in self.by_user.remove(user).unwrap_or_default() {
            self.by_digest.remove(&digest);
        }
    }

    fn clear(&mut self) {
        self.by_digest.clear();
        self.by_user.clear();
    }
}

/// The cache of one process (shared by its store's clones).
pub(crate) struct SessionCache {
    entries: RwLock<Entries>,
    capacity: usize,
    /// Milliseconds since `origin` until which the listener is trusted (0:
    /// not at all, as after losing its connection).
    trusted_until: AtomicU64,
    origin: Instant,
    /// Dropped with the cache: tells the listener and the pinger to stop.
    _stop: watch::Sender<()>,
}

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionCache {{ capacity: {} }}", self.capacity)
    }
}

/// A change a notification names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Change<'a> {
    Session(&'a str),
    User(Uuid),
    Everything,
    Ping,
}

impl<'a> Change<'a> {
    /// Reads a payload the triggers (or a ping) sent; anything else empties
    /// the cache, to be safe.
    pub(crate) fn parse(payload: &'a str) -> Self {
        if let Some(digest) = payload.strip_prefix('s') {
            Change::Session(digest)
        } else if let Some(id) = payload.strip_prefix('u') {
            Uuid::parse_str(id).map_or(Change::Everything, Change::User)
        } else if payload == "p" {
            Change::Ping
        } else {
            Change::Everything
        }
    }
}

impl SessionCache {
    /// A cache of at most `capacity` sessions, listening at `url` and
    /// pinging through `db`, until it is dropped.
    pub(crate) fn start(url: &str, db: DatabaseConnection, capacity: usize) -> Arc<Self> {
        let (cache, stopped) = Self::new(capacity);
        tokio::spawn(listen(
            Arc::downgrade(&cache),
            url.to_owned(),
            stopped.clone(),
        ));
        tokio::spawn(ping(db, stopped));
        cache
    }

    /// A cache nobody listens for yet (so it answers nothing), and the
    /// receiver that sees it dropped.
    fn new(capacity: usize) -> (Arc<Self>, watch::Receiver<()>) {
        let (stop, stopped) = watch::channel(());
        let cache = Arc::new(Self {
            entries: RwLock::new(Entries::default()),
            capacity: capacity.max(1),
            trusted_until: AtomicU64::new(0),
            origin: Instant::now(),
            _stop: stop,
        });
        (cache, stopped)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn trusted(&self) -> bool {
        self.now_ms() < self.trusted_until.load(Ordering::Acquire)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.entries.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The session stored under `digest` and its user, if the cache holds
    /// them and may answer.
    pub(crate) fn get(&self, digest: &str) -> Option<(Session, User)> {
        if !self.trusted() {
            return None;
        }
        self.read()
            .by_digest
            .get(digest)
            .map(|entry| (entry.session.clone(), entry.user.clone()))
    }

    /// The epoch to hand to [`SessionCache::keep`] after reading from the
    /// database; `None` when the cache may not be filled now.
    pub(crate) fn epoch(&self) -> Option<u64> {
        self.trusted().then(|| self.read().epoch)
    }

    /// Keeps what the database said under `digest`, unless anything
    /// changed since `epoch` was taken (the read may predate the change).
    pub(crate) fn keep(&self, epoch: u64, digest: &str, session: &Session, user: &User) {
        let mut entries = self.write();
        if entries.epoch != epoch || !self.trusted() {
            return;
        }
        if !entries.by_digest.contains_key(digest)
            && entries.by_digest.len() >= self.capacity
            && let Some(victim) = entries.by_digest.keys().next().cloned()
        {
            entries.remove_session(&victim);
        }
        let entry = Entry {
            session: session.clone(),
            user: user.clone(),
        };
        if entries.by_digest.insert(digest.to_owned(), entry).is_none() {
            entries
                .by_user
                .entry(user.id.as_uuid())
                .or_default()
                .push(digest.to_owned());
        }
    }

    /// Forgets what `change` names.
    pub(crate) fn forget(&self, change: &Change<'_>) {
        if *change == Change::Ping {
            return;
        }
        let mut entries = self.write();
        entries.epoch += 1;
        match change {
            Change::Session(digest) => entries.remove_session(digest),
            Change::User(id) => entries.remove_user(id),
            Change::Everything => entries.clear(),
            Change::Ping => {}
        }
    }

    /// The listener heard from the database: trust it for [`SILENCE`].
    fn heard(&self) {
        let until = self.now_ms() + u64::try_from(SILENCE.as_millis()).unwrap_or(u64::MAX);
        self.trusted_until.store(until, Ordering::Release);
    }

    /// The listener lost its connection: notifications may be missed until
    /// it is back, so nothing cached can be trusted.
    fn lost(&self) {
        self.trusted_until.store(0, Ordering::Release);
        self.forget(&Change::Everything);
    }
}

/// Listens on [`CHANNEL`] until the cache is dropped, applying every
/// notification; connects again after a loss.
async fn listen(cache: Weak<SessionCache>, url: String, mut stopped: watch::Receiver<()>) {
    loop {
        let session = async {
            let mut listener = PgListener::connect(&url).await?;
            // A lost connection is reported (Ok(None)) before the listener
            // connects again, so the loss empties the cache first.
            listener.eager_reconnect(false);
            listener.listen(CHANNEL).await?;
            if let Some(cache) = cache.upgrade() {
                cache.forget(&Change::Everything);
                cache.heard();
            }
            loop {
                match listener.try_recv().await? {
                    Some(notification) => match cache.upgrade() {
                        Some(cache) => {
                            cache.heard();
                            cache.forget(&Change::parse(notification.payload()));
                        }
                        None => return Ok(()),
                    },
                    None => return Err(sea_orm::sqlx::Error::PoolClosed),
                }
            }
        };
        let outcome = tokio::select! {
            outcome = session => outcome,
            _ = stopped.changed() => return,
        };
        match cache.upgrade() {
            Some(cache) => cache.lost(),
            None => return,
        }
        if let Err(error) = outcome {
            tracing::warn!(error = %error, "session cache: change notifications lost; cache emptied, reconnecting");
        }
        tokio::select! {
            () = tokio::time::sleep(RECONNECT_AFTER) => {}
            _ = stopped.changed() => return,
        }
    }
}

/// Sends a ping on [`CHANNEL`] every [`PING_EVERY`] until the cache is
/// dropped, so that every listener hears from the database while nothing
/// changes.
async fn ping(db: DatabaseConnection, mut stopped: watch::Receiver<()>) {
    let mut every = tokio::time::interval(PING_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stopped.changed() => return,
        }
        if let Err(error) = db
            .execute_unprepared(&format!("NOTIFY {CHANNEL}, 'p'"))
            .await
        {
            tracing::debug!(error = %error, "session cache: ping failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use domain::{Email, PasswordHash, SessionId, SessionKey, UserId};

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

    fn listening(capacity: usize) -> Arc<SessionCache> {
        let (cache, _) = SessionCache::new(capacity);
        cache.heard();
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
        cache.heard();
        let user = user();
        let session = session_of(&user, "t1");
        let epoch = cache.epoch().expect("listening");
        cache.keep(epoch, session.key.as_str(), &session, &user);
        assert!(cache.get(session.key.as_str()).is_some());
        cache.lost();
        assert!(cache.get(session.key.as_str()).is_none());
        assert!(cache.epoch().is_none());
        cache.heard();
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
        assert_eq!(Change::parse("p"), Change::Ping);
        assert_eq!(Change::parse("?"), Change::Everything);
    }
}
