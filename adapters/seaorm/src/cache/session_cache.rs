//! The cache of one process: look-ups and keeping (guarded by the epoch),
//! forgetting what a change names, whether it may answer (its own pings
//! heard back, on the boot clock), and the notifications its listener
//! hands it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use domain::{Session, User};
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use super::change::Change;
use super::clock;
use super::entries::{Entries, Entry, Named};

/// How long after sending a ping it has heard back a cache still answers.
pub(super) const SILENCE: Duration = Duration::from_secs(3);

/// A fence of this cache's process waiting for acknowledgements.
pub(super) struct Waiting {
    pub(super) pending: HashSet<Uuid>,
    pub(super) done: Option<oneshot::Sender<()>>,
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
    pub(super) id: Uuid,
    entries: RwLock<Entries>,
    capacity: usize,
    /// The boot clock's millisecond ([`clock::now_ms`]) until which the
    /// cache may answer (0: not at all, as after losing its listener).
    trusted_until: AtomicU64,
    /// Pings numbered below this grant no trust (sent before the cache
    /// last gave up its row: they may be heard after it was removed).
    trust_floor: AtomicU64,
    /// The listener heard one of this cache's own probes or pings since it
    /// last (re)connected: only then does the cache refresh its row.
    pub(super) hearing: AtomicBool,
    /// This process's fences in flight, by number.
    pub(super) fences: Mutex<HashMap<u64, Waiting>>,
    pub(super) next_fence: AtomicU64,
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

impl SessionCache {
    /// A cache nobody listens for yet (so it answers nothing), and the
    /// receiver that sees it dropped.
    pub(super) fn new(capacity: usize) -> (Arc<Self>, watch::Receiver<()>) {
        let (stop, stopped) = watch::channel(());
        let cache = Arc::new(Self {
            id: Uuid::new_v4(),
            entries: RwLock::new(Entries::default()),
            capacity: capacity.max(1),
            trusted_until: AtomicU64::new(0),
            trust_floor: AtomicU64::new(0),
            hearing: AtomicBool::new(false),
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

    pub(super) fn now_ms(&self) -> u64 {
        clock::now_ms()
    }

    pub(super) fn trusted(&self) -> bool {
        self.now_ms() < self.trusted_until.load(Ordering::Acquire)
    }

    pub(super) fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
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

    /// Keeps what the database said under `digest`, unless a change since
    /// `epoch` was taken named that session or its user, or emptied the
    /// cache (the read may predate the change).
    pub(crate) fn keep(&self, epoch: u64, digest: &str, session: &Session, user: &User) {
        let mut entries = self.write();
        if !self.trusted() || entries.changed_since(epoch, digest, &user.id.as_uuid()) {
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
        let named = match change {
            Change::Session(digest) => {
                entries.remove_session(digest);
                Named::Session((*digest).to_owned())
            }
            Change::User(id) => {
                entries.remove_user(id);
                Named::User(*id)
            }
            Change::Everything => {
                entries.clear();
                Named::Everything
            }
            Change::Ping { .. }
            | Change::Probe { .. }
            | Change::Fence { .. }
            | Change::Ack { .. } => return,
        };
        entries.bump(named);
    }

    /// The listener heard this cache's own ping number `seq`, sent at
    /// `sent`: the cache may answer until [`SILENCE`] after that, unless
    /// the ping predates the cache's last giving up its row.
    pub(super) fn heard_own_ping(&self, sent: u64, seq: u64) {
        if seq < self.trust_floor.load(Ordering::Acquire) {
            return;
        }
        self.hearing.store(true, Ordering::Release);
        let until = sent.saturating_add(u64::try_from(SILENCE.as_millis()).unwrap_or(u64::MAX));
        self.trusted_until.fetch_max(until, Ordering::AcqRel);
    }

    /// The cache is about to remove its row (its listener went deaf): no
    /// ping numbered below `next` may give it trust again, and it stops
    /// refreshing its row until its listener is heard again.
    pub(super) fn give_up(&self, next: u64) {
        self.trust_floor.fetch_max(next, Ordering::AcqRel);
        self.hearing.store(false, Ordering::Release);
        self.trusted_until.store(0, Ordering::Release);
    }

    /// The listener lost its connection: notifications may be missed until
    /// it is back, so nothing cached can be trusted.
    pub(super) fn lost(&self) {
        self.hearing.store(false, Ordering::Release);
        self.trusted_until.store(0, Ordering::Release);
        self.forget(&Change::Everything);
    }

    /// Applies one notification the listener received; returns what to
    /// notify in answer (the acknowledgement of another process's fence).
    pub(super) fn receive(&self, change: &Change<'_>) -> Option<String> {
        match *change {
            Change::Ping { from, sent, seq } if from == self.id => self.heard_own_ping(sent, seq),
            Change::Probe { from } if from == self.id => {
                self.hearing.store(true, Ordering::Release);
            }
            Change::Ping { .. } | Change::Probe { .. } => {}
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
