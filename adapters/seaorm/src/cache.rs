//! The server's cache of sessions and their users, on PostgreSQL, kept true
//! by the database's change notifications.
//!
//! The rule it serves: a change (logout, revoked session, deleted user,
//! new password or names), made by this instance, another one or the CLI,
//! is seen by the very next request on every instance. So:
//!
//! - **Everyone's changes are announced**: triggers (migration
//!   `m20261220_000007_change_notifications`) notify the channel
//!   `session_auth_changes` when a change commits; each cache's listener
//!   forgets what they name.
//! - **A change is answered only once every cache has heard it** (the
//!   fence, [`fence`]): the process that made it (a server, or the CLI)
//!   notifies a fence `f<its id>:<n>` after its commit and waits until every
//!   live cache has acknowledged it (`a<its id>:<n>:<cache id>`). The
//!   channel delivers in commit order, so a cache that saw the fence has
//!   already forgotten what the change named. The live caches are those in
//!   `session_cache_listeners` seen within [`LIVE_WITHIN`]; when none is,
//!   the fence costs that one query. Its own cache forgets synchronously.
//! - **No word, no cache**: a cache answers only until [`SILENCE`] after
//!   sending the last of its own pings it has heard back (each ping
//!   refreshes its row in `session_cache_listeners` and notifies, in one
//!   statement, every [`PING_EVERY`]); a dropped listener connection
//!   empties it. So a cache that stopped hearing stops answering within
//!   [`SILENCE`], before a fence waiting for it gives up ([`FENCE_WAIT`]),
//!   and one that stopped pinging drops out of the live list after
//!   [`LIVE_WITHIN`], after its answers stopped.
//! - **A look-up that raced a change is not cached**: every change bumps
//!   an epoch, and a row read from the database is kept only if the epoch
//!   is still the one seen before the read.
//! - **Bounded**: at most the configured number of entries
//!   (`SESSION_CACHE_SIZE`); when full, an arbitrary entry makes room.
//!   Absent sessions and sessions of deleted users are never kept.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use domain::{Session, User};
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

/// The channel the triggers, pings, fences and acknowledgements use.
const CHANNEL: &str = "session_auth_changes";

/// How often each cache pings the channel, proving its listener alive.
const PING_EVERY: Duration = Duration::from_secs(1);

/// How long after sending a ping it has heard back a cache still answers.
const SILENCE: Duration = Duration::from_secs(3);

/// How long a fence waits for a cache's acknowledgement: past [`SILENCE`],
/// so a cache that has not acknowledged has stopped answering.
const FENCE_WAIT: Duration = Duration::from_millis(3_500);

/// A cache whose row was refreshed this recently is waited for by fences:
/// past [`SILENCE`] (a cache answers until [`SILENCE`] after a ping was
/// sent, and the row is refreshed by that same ping, later).
const LIVE_WITHIN: &str = "5 seconds";

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

/// A fence of this cache's process waiting for acknowledgements.
struct Waiting {
    pending: HashSet<Uuid>,
    done: Option<oneshot::Sender<()>>,
}

/// What the cache says of a session.
#[allow(
    clippy::large_enum_variant,
    reason = "returned by value and taken apart at once; boxing a hit would allocate on every request"
)]
pub(crate) enum Lookup {
    /// The session and its user.
    Hit(Session, User),
    /// Not held; the epoch when a read from the database may be kept.
    Miss(Option<u64>),
}

/// The cache of one process (shared by its store's clones).
pub(crate) struct SessionCache {
    /// This cache's name on the channel and in `session_cache_listeners`.
    id: Uuid,
    entries: RwLock<Entries>,
    capacity: usize,
    /// Milliseconds since `origin` until which the cache may answer (0:
    /// not at all, as after losing its listener).
    trusted_until: AtomicU64,
    origin: Instant,
    /// This process's fences in flight, by number.
    fences: Mutex<HashMap<u64, Waiting>>,
    next_fence: AtomicU64,
    /// Dropped with the cache: tells the listener and the pinger to stop.
    _stop: watch::Sender<()>,
}

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SessionCache {{ id: {}, capacity: {} }}",
            self.id, self.capacity
        )
    }
}

/// What a notification says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Change<'a> {
    /// The session under this digest changed or is gone.
    Session(&'a str),
    /// The user with this id changed or is gone.
    User(Uuid),
    /// Anything may have changed.
    Everything,
    /// A cache's ping, sent at `sent` (its own milliseconds).
    Ping { from: Uuid, sent: u64 },
    /// A process's fence after a change: acknowledge it.
    Fence { origin: Uuid, number: u64 },
    /// A cache acknowledging a fence.
    Ack {
        origin: Uuid,
        number: u64,
        from: Uuid,
    },
}

impl<'a> Change<'a> {
    /// Reads a payload; anything unknown empties the cache, to be safe.
    pub(crate) fn parse(payload: &'a str) -> Self {
        Self::try_parse(payload).unwrap_or(Change::Everything)
    }

    fn try_parse(payload: &'a str) -> Option<Self> {
        let (kind, rest) = payload.split_at_checked(1)?;
        let mut parts = rest.split(':');
        let mut uuid = || parts.next().and_then(|p| Uuid::parse_str(p).ok());
        Some(match kind {
            "s" => Change::Session(rest),
            "u" => Change::User(Uuid::parse_str(rest).ok()?),
            "*" if rest.is_empty() => Change::Everything,
            "p" => {
                let from = uuid()?;
                Change::Ping {
                    from,
                    sent: parts.next()?.parse().ok()?,
                }
            }
            "f" => {
                let origin = uuid()?;
                Change::Fence {
                    origin,
                    number: parts.next()?.parse().ok()?,
                }
            }
            "a" => {
                let origin = uuid()?;
                let number = parts.next()?.parse().ok()?;
                let from = parts.next().and_then(|p| Uuid::parse_str(p).ok())?;
                Change::Ack {
                    origin,
                    number,
                    from,
                }
            }
            _ => return None,
        })
    }
}

/// `SELECT pg_notify(CHANNEL, payload)`.
fn notify(payload: String) -> Statement {
    Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), payload.into()],
    )
}

impl SessionCache {
    /// A cache of at most `capacity` sessions, listening at `url` and
    /// pinging through `db`, until it is dropped.
    pub(crate) fn start(url: &str, db: DatabaseConnection, capacity: usize) -> Arc<Self> {
        let (cache, stopped) = Self::new(capacity);
        tokio::spawn(listen(
            Arc::downgrade(&cache),
            url.to_owned(),
            db.clone(),
            stopped.clone(),
        ));
        tokio::spawn(ping(Arc::downgrade(&cache), db, stopped));
        cache
    }

    /// A cache nobody listens for yet (so it answers nothing), and the
    /// receiver that sees it dropped.
    fn new(capacity: usize) -> (Arc<Self>, watch::Receiver<()>) {
        let (stop, stopped) = watch::channel(());
        let cache = Arc::new(Self {
            id: Uuid::new_v4(),
            entries: RwLock::new(Entries::default()),
            capacity: capacity.max(1),
            trusted_until: AtomicU64::new(0),
            origin: Instant::now(),
            fences: Mutex::new(HashMap::new()),
            next_fence: AtomicU64::new(0),
            _stop: stop,
        });
        (cache, stopped)
    }

    /// This cache's id.
    pub(crate) fn id(&self) -> Uuid {
        self.id
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
    /// them and may answer; else whether a read from the database may be
    /// kept: the epoch to hand to [`SessionCache::keep`] after it.
    pub(crate) fn lookup(&self, digest: &str) -> Lookup {
        if !self.trusted() {
            return Lookup::Miss(None);
        }
        let entries = self.read();
        match entries.by_digest.get(digest) {
            Some(entry) => Lookup::Hit(entry.session.clone(), entry.user.clone()),
            None => Lookup::Miss(Some(entries.epoch)),
        }
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

    /// Forgets what `change` names (pings, fences and acknowledgements name
    /// nothing).
    pub(crate) fn forget(&self, change: &Change<'_>) {
        let mut entries = self.write();
        match change {
            Change::Session(digest) => entries.remove_session(digest),
            Change::User(id) => entries.remove_user(id),
            Change::Everything => entries.clear(),
            Change::Ping { .. } | Change::Fence { .. } | Change::Ack { .. } => return,
        }
        entries.epoch += 1;
    }

    /// The listener heard this cache's own ping sent at `sent`: the cache
    /// may answer until [`SILENCE`] after that.
    fn heard_own_ping(&self, sent: u64) {
        let until = sent.saturating_add(u64::try_from(SILENCE.as_millis()).unwrap_or(u64::MAX));
        self.trusted_until.fetch_max(until, Ordering::AcqRel);
    }

    /// The listener lost its connection: notifications may be missed until
    /// it is back, so nothing cached can be trusted.
    fn lost(&self) {
        self.trusted_until.store(0, Ordering::Release);
        self.forget(&Change::Everything);
    }

    /// Applies one notification the listener received; returns what to
    /// notify in answer (the acknowledgement of another process's fence).
    fn receive(&self, change: &Change<'_>) -> Option<String> {
        match *change {
            Change::Ping { from, sent } if from == self.id => self.heard_own_ping(sent),
            Change::Ping { .. } => {}
            Change::Fence { origin, number } if origin != self.id => {
                return Some(format!("a{origin}:{number}:{}", self.id));
            }
            Change::Fence { .. } => {}
            Change::Ack {
                origin,
                number,
                from,
            } if origin == self.id => {
                let mut fences = self.fences.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(waiting) = fences.get_mut(&number) {
                    waiting.pending.remove(&from);
                    if waiting.pending.is_empty()
                        && let Some(done) = waiting.done.take()
                    {
                        let _ = done.send(());
                    }
                }
            }
            Change::Ack { .. } => {}
            _ => self.forget(change),
        }
        None
    }
}

/// The caches other than `except` that may be answering now.
async fn live_caches(db: &DatabaseConnection, except: Uuid) -> Result<HashSet<Uuid>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "SELECT id FROM session_cache_listeners \
                 WHERE seen_at > now() - interval '{LIVE_WITHIN}' AND id <> $1"
            ),
            [except.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| row.try_get::<Uuid>("", "id"))
        .collect()
}

/// After a change committed: returns once every live cache other than
/// `own` (whose process forgot the change itself) has heard it, or has
/// stopped answering. When `own` cannot hear the acknowledgements (no
/// cache, or its listener is down), a connection of `db`'s pool listens
/// for them meanwhile.
pub(crate) async fn fence(db: &DatabaseConnection, own: Option<&SessionCache>) {
    let me = own.map_or_else(Uuid::nil, SessionCache::id);
    let outcome = async {
        let live = live_caches(db, me).await?;
        if live.is_empty() {
            return Ok(true);
        }
        match own.filter(|cache| cache.trusted()) {
            Some(cache) => fence_through(cache, db, live).await,
            None => fence_alone(db, live).await,
        }
    };
    // Bounded as a whole (a listener's connection may hang): past the
    // bound, as when the caches could not be asked.
    let outcome = tokio::time::timeout(FENCE_WAIT * 2, outcome)
        .await
        .unwrap_or_else(|_| Err(DbErr::Custom("the fence took too long".to_owned())));
    match outcome {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            "session cache: a cache did not acknowledge a change within {FENCE_WAIT:?}; it has stopped answering by now"
        ),
        Err(error) => {
            // Whether any cache heard the change is unknown: wait until
            // any that did not has stopped answering.
            tracing::warn!(error = %error, "session cache: could not confirm a change with the other caches; waiting them out");
            tokio::time::sleep(FENCE_WAIT).await;
        }
    }
}

/// The fence, acknowledged to `cache`'s own listener.
async fn fence_through(
    cache: &SessionCache,
    db: &DatabaseConnection,
    live: HashSet<Uuid>,
) -> Result<bool, DbErr> {
    let number = cache.next_fence.fetch_add(1, Ordering::Relaxed);
    let (done, acknowledged) = oneshot::channel();
    cache
        .fences
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(
            number,
            Waiting {
                pending: live,
                done: Some(done),
            },
        );
    let sent = db
        .execute_raw(notify(format!("f{}:{number}", cache.id)))
        .await;
    let outcome = match sent {
        Ok(_) => Ok(tokio::time::timeout(FENCE_WAIT, acknowledged)
            .await
            .is_ok_and(|r| r.is_ok())),
        Err(error) => Err(error),
    };
    cache
        .fences
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&number);
    outcome
}

/// The fence of a process without a listening cache (the CLI): one of its
/// pool's connections listens for the acknowledgements meanwhile.
async fn fence_alone(db: &DatabaseConnection, mut live: HashSet<Uuid>) -> Result<bool, DbErr> {
    let sqlx_error = |e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(Arc::new(e)));
    let origin = Uuid::new_v4();
    let mut listener = PgListener::connect_with(db.get_postgres_connection_pool())
        .await
        .map_err(sqlx_error)?;
    listener.listen(CHANNEL).await.map_err(sqlx_error)?;
    db.execute_raw(notify(format!("f{origin}:0"))).await?;
    let deadline = tokio::time::Instant::now() + FENCE_WAIT;
    while !live.is_empty() {
        let Ok(received) = tokio::time::timeout_at(deadline, listener.try_recv()).await else {
            return Ok(false);
        };
        let Some(notification) = received.map_err(sqlx_error)? else {
            return Err(sqlx_error(sea_orm::sqlx::Error::PoolClosed));
        };
        if let Change::Ack {
            origin: to, from, ..
        } = Change::parse(notification.payload())
            && to == origin
        {
            live.remove(&from);
        }
    }
    Ok(true)
}

/// Listens on [`CHANNEL`] until the cache is dropped, applying every
/// notification; connects again after a loss.
async fn listen(
    cache: Weak<SessionCache>,
    url: String,
    db: DatabaseConnection,
    mut stopped: watch::Receiver<()>,
) {
    loop {
        let session = async {
            let mut listener = PgListener::connect(&url).await?;
            // A lost connection is reported (Ok(None)) before the listener
            // connects again, so the loss empties the cache first.
            listener.eager_reconnect(false);
            listener.listen(CHANNEL).await?;
            // Trusted as soon as its first ping comes back.
            if let Some(cache) = cache.upgrade() {
                send_ping(&cache, &db).await;
            }
            loop {
                let Some(notification) = listener.try_recv().await? else {
                    return Err(sea_orm::sqlx::Error::PoolClosed);
                };
                let Some(cache) = cache.upgrade() else {
                    return Ok(());
                };
                if let Some(answer) = cache.receive(&Change::parse(notification.payload())) {
                    let db = db.clone();
                    tokio::spawn(async move {
                        if let Err(error) = db.execute_raw(notify(answer)).await {
                            tracing::debug!(error = %error, "session cache: acknowledgement failed");
                        }
                    });
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

/// Refreshes this cache's row in `session_cache_listeners` and notifies a
/// ping, in one statement: hearing it back proves both.
async fn send_ping(cache: &SessionCache, db: &DatabaseConnection) {
    // Rows of servers that stopped without removing theirs (killed) go
    // after an hour, so the fences' look-up stays a read of a few rows.
    let sql = format!(
        "WITH gone AS (DELETE FROM session_cache_listeners WHERE seen_at < now() - interval '1 hour'), \
         seen AS (INSERT INTO session_cache_listeners (id, seen_at) VALUES ($1, now()) \
         ON CONFLICT (id) DO UPDATE SET seen_at = now() RETURNING id) \
         SELECT pg_notify('{CHANNEL}', 'p' || id::text || ':' || $2) FROM seen"
    );
    let ping = Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [cache.id.into(), cache.now_ms().to_string().into()],
    );
    if let Err(error) = db.execute_raw(ping).await {
        tracing::debug!(error = %error, "session cache: ping failed");
    }
}

/// Pings every [`PING_EVERY`] until the cache is dropped; then removes its
/// row, so that no fence waits for it.
async fn ping(cache: Weak<SessionCache>, db: DatabaseConnection, mut stopped: watch::Receiver<()>) {
    let mut every = tokio::time::interval(PING_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let id = cache.upgrade().map(|cache| cache.id);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stopped.changed() => break,
        }
        let Some(cache) = cache.upgrade() else { break };
        send_ping(&cache, &db).await;
    }
    if let Some(id) = id {
        let _ = db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "DELETE FROM session_cache_listeners WHERE id = $1",
                [id.into()],
            ))
            .await;
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
        cache.heard_own_ping(cache.now_ms());
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
        cache.heard_own_ping(cache.now_ms());
        let user = user();
        let session = session_of(&user, "t1");
        let epoch = cache.epoch().expect("listening");
        cache.keep(epoch, session.key.as_str(), &session, &user);
        assert!(cache.get(session.key.as_str()).is_some());
        cache.lost();
        assert!(cache.get(session.key.as_str()).is_none());
        assert!(cache.epoch().is_none());
        cache.heard_own_ping(cache.now_ms());
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
            Change::parse(&format!("p{id}:42")),
            Change::Ping { from: id, sent: 42 }
        );
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
}
