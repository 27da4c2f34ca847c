//! Storage in the Flask API's JSON files.
//!
//! [`FileStore`] serves both storage ports from
//! [`adapter_memory::Tables`] held in memory (every read is an in-memory,
//! indexed look-up). It keeps `.db_User.json` and `.db_UserSession.json` in
//! the data directory, in the format described in the wire contract, so
//! data written by the Flask API loads as it is, and a folder this store
//! was closed on loads in the Flask API.
//!
//! Durability: a port method that changes data appends the change to a
//! journal (see [`journal`]) and returns once it is flushed to disk;
//! concurrent changes share one flush (group commit). The Flask files are
//! rewritten from memory, atomically, only when the journal is compacted:
//! in the background once it passes a size or an age
//! ([`JournalSettings`]), and by [`FileStore::close`] at a clean shutdown,
//! which leaves no journal behind. Opening replays the journal over the
//! Flask files.

mod atomic_file;
mod dir_lock;
mod error;
pub mod journal;
mod records;

pub use atomic_file::WriteError;
pub use dir_lock::LOCK_FILE;
pub use error::OpenError;
pub use journal::JOURNAL_PREFIX;
pub use records::{FlaskRecords, SESSION_FILE, USER_FILE};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{
    Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak,
};
use std::time::Duration;

use adapter_memory::Tables;
use domain::{
    Email, NameChange, PasswordHash, RepositoryError, Session, SessionKey, SessionRepository, User,
    UserId, UserRepository,
};

use crate::journal::{Op, Writer};

/// When the journal is compacted into the Flask files. It has no
/// defaults of its own: the caller gives both thresholds (the server from
/// its configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalSettings {
    /// Compact once the journal holds this many bytes.
    pub compact_bytes: u64,
    /// Compact once the journal's oldest entry is this old.
    pub compact_age: Duration,
}

/// Both storage ports over the JSON files of one data directory.
///
/// One store serves both ports so that deleting a user and their sessions
/// is one change. The store holds an exclusive lock on the directory for
/// its whole life; dropping it releases the lock. Dropping it without
/// [`FileStore::close`] leaves the journal to be replayed by the next
/// open, exactly as a crash would.
///
/// # Failed writes
/// When the journal cannot be written, the method that made the change
/// returns [`RepositoryError::Unexpected`] (the [`WriteError`] as its
/// source) and the change is undone in memory, together with every other
/// change not yet on disk (those fail too): nothing that was not made
/// durable stays visible.
pub struct FileStore {
    inner: Arc<Inner>,
    compactor: Option<tokio::task::JoinHandle<()>>,
}

struct Inner {
    dir: PathBuf,
    state: RwLock<State>,
    /// The journal's appending end. Whoever holds it writes every pending
    /// entry in one append (group commit).
    journal: Mutex<Writer>,
    /// Where committers wait their turn for `journal`.
    gate: tokio::sync::Mutex<()>,
    /// One compaction at a time.
    compaction: Mutex<()>,
    writes: AtomicU64,
    /// Held only to keep the directory locked until the store is dropped.
    _lock: File,
}

/// The in-memory data and what separates it from the disk.
struct State {
    tables: Tables,
    /// The Flask files lag behind the tables.
    users_dirty: AtomicBool,
    sessions_dirty: AtomicBool,
    /// Encoded entries of applied changes not yet appended.
    pending: Vec<u8>,
    /// How to undo each applied change not yet durable, oldest first.
    undo: VecDeque<(u64, Vec<Undo>)>,
    /// The sequence number of the next change.
    next_seq: u64,
}

/// The inverse of one applied [`Op`].
enum Undo {
    Nothing,
    RemoveUser(UserId),
    RestoreUser(User),
    Reinsert {
        position: u64,
        user: User,
        sessions: Vec<Session>,
    },
    RemoveSession(SessionKey),
    RestoreSession(Session),
    Touch(SessionKey, DateTime<Utc>),
}

impl Undo {
    fn apply(self, tables: &mut Tables) {
        match self {
            Undo::Nothing => {}
            Undo::RemoveUser(id) => {
                tables.delete_user(&id);
            }
            Undo::RestoreUser(user) => tables.restore_user(user),
            Undo::Reinsert {
                position,
                user,
                sessions,
            } => {
                tables.reinsert_user(position, user);
                for session in sessions {
                    tables.load_session(session);
                }
            }
            Undo::RemoveSession(key) => {
                tables.delete_session(&key);
            }
            Undo::RestoreSession(session) => tables.load_session(session),
            Undo::Touch(key, at) => {
                tables.touch_session(&key, at);
            }
        }
    }
}

/// Applies `op`, returning its inverse.
fn apply_undoable(tables: &mut Tables, op: Op) -> Undo {
    let undo = match &op {
        Op::PutUser(user) => tables
            .user(&user.id)
            .cloned()
            .map_or(Undo::RemoveUser(user.id), Undo::RestoreUser),
        Op::DeleteUser(id) => match (tables.position_of(id), tables.user(id)) {
            (Some(position), Some(user)) => Undo::Reinsert {
                position,
                user: user.clone(),
                sessions: tables.sessions_of(id),
            },
            _ => Undo::Nothing,
        },
        Op::PutSession(session) => tables.session(&session.key).map_or(
            Undo::RemoveSession(session.key.clone()),
            Undo::RestoreSession,
        ),
        Op::DeleteSession(key) => tables
            .session(key)
            .map_or(Undo::Nothing, Undo::RestoreSession),
        Op::TouchSession(key, _) => tables
            .session(key)
            .map_or(Undo::Nothing, |s| Undo::Touch(key.clone(), s.last_used_at)),
    };
    op.apply(tables);
    undo
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("dir", &self.inner.dir)
            .field("writes_performed", &self.writes_performed())
            .finish_non_exhaustive()
    }
}

impl Drop for FileStore {
    fn drop(&mut self) {
        if let Some(compactor) = self.compactor.take() {
            compactor.abort();
        }
    }
}

impl FileStore {
    /// Opens the data directory `dir`: creates it if missing, locks it,
    /// removes temporary files a crashed compaction left, loads both Flask
    /// files (a missing file is empty storage) and replays the journal over
    /// them, dropping a torn last entry with a warning. The blocking work
    /// runs on the blocking pool; compaction then runs in the background.
    ///
    /// # Errors
    /// [`OpenError`] when the directory is locked by another store, cannot
    /// be created or read, a file is not valid JSON or holds a record that
    /// cannot be used, or the journal is damaged other than by a crash. The
    /// Flask files are never modified by opening.
    pub async fn open_with(dir: &Path, settings: JournalSettings) -> Result<Self, OpenError> {
        let owned = dir.to_path_buf();
        let mut store = tokio::task::spawn_blocking(move || Self::open_blocking(&owned))
            .await
            .map_err(|source| OpenError::Interrupted {
                dir: dir.to_path_buf(),
                source,
            })??;
        let progress = Arc::clone(&store.inner.lock_journal().progress);
        store.compactor = Some(tokio::spawn(compactor(
            Arc::downgrade(&store.inner),
            progress,
            settings,
        )));
        Ok(store)
    }

    /// [`FileStore::open_with`] for callers outside an async context; it
    /// compacts only when asked ([`FileStore::compact_blocking`]), so it
    /// takes no [`JournalSettings`].
    ///
    /// # Errors
    /// As [`FileStore::open_with`].
    pub fn open_blocking(dir: &Path) -> Result<Self, OpenError> {
        std::fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir {
            dir: dir.to_path_buf(),
            source,
        })?;
        Self::load(dir)
    }

    fn load(dir: &Path) -> Result<Self, OpenError> {
        // Locked before reading, so no other store can write between the
        // read and our first write.
        let lock = dir_lock::acquire(dir)?;
        remove_own_temporary_files(dir);

        let (mut tables, raw_tokens) = load_files(dir)?;
        let mut sessions_dirty = false;
        if let Some((path, count)) = raw_tokens.filter(|(_, count)| *count > 0) {
            // The file differs from the tables (raw tokens versus their
            // digests): it is rewritten soon so the live tokens leave
            // the disk.
            sessions_dirty = true;
            tracing::warn!(
                file = %path.display(),
                count,
                "sessions stored with raw tokens (Flask format); \
                 they will be stored as digests at the next compaction"
            );
        }
        let replayed = journal::replay(dir, &mut tables)?;
        let writer = Writer::resume(dir, &replayed)?;
        writer
            .progress
            .soon
            .store(sessions_dirty, Ordering::Relaxed);
        tracing::info!(
            dir = %dir.display(),
            users = tables.users().len(),
            sessions = tables.session_count(),
            journal_entries = replayed.entries,
            "file storage opened"
        );

        let state = State {
            tables,
            users_dirty: AtomicBool::new(replayed.users_changed),
            sessions_dirty: AtomicBool::new(sessions_dirty || replayed.sessions_changed),
            pending: Vec::new(),
            undo: VecDeque::new(),
            next_seq: 1,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                state: RwLock::new(state),
                journal: Mutex::new(writer),
                gate: tokio::sync::Mutex::new(()),
                compaction: Mutex::new(()),
                writes: AtomicU64::new(0),
                _lock: lock,
            }),
            compactor: None,
        })
    }

    /// How many Flask file replacements this store has performed.
    pub fn writes_performed(&self) -> u64 {
        self.inner.writes.load(Ordering::Relaxed)
    }

    /// How many journal appends (each one flush to disk) this store has
    /// performed; lets tests observe that concurrent changes share them.
    pub fn journal_flushes(&self) -> u64 {
        self.inner.lock_journal().flushes
    }

    /// Rewrites the Flask files that lag behind memory and deletes the
    /// journal they now cover. Changes keep being served meanwhile.
    ///
    /// # Errors
    /// [`RepositoryError::Unexpected`] when a file cannot be written; the
    /// journal is then kept, so nothing is lost.
    pub async fn compact(&self) -> Result<(), RepositoryError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.compact())
            .await
            .map_err(|e| RepositoryError::Unexpected(Box::new(e)))?
    }

    /// [`FileStore::compact`] for callers outside an async context.
    ///
    /// # Errors
    /// As [`FileStore::compact`].
    pub fn compact_blocking(&self) -> Result<(), RepositoryError> {
        self.inner.compact()
    }

    /// The clean shutdown: stops background compaction and compacts, so
    /// the folder holds plain Flask files and no journal. Changes made
    /// after it are still journaled.
    ///
    /// # Errors
    /// As [`FileStore::compact`]; the journal then stays for the next
    /// open to replay.
    pub async fn close(&self) -> Result<(), RepositoryError> {
        if let Some(compactor) = &self.compactor {
            compactor.abort();
        }
        self.compact().await
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.inner.read_state()
    }

    /// Decides a change from the tables (`decide` validates and returns
    /// the value for the caller and the operations), applies it, appends
    /// it to the journal and returns once it is on disk. When it cannot be
    /// made durable it is undone and an error returned.
    async fn change<T>(
        &self,
        decide: impl FnOnce(&Tables) -> Result<(T, Vec<Op>), RepositoryError>,
    ) -> Result<T, RepositoryError> {
        let (value, seq) = {
            let mut state = self.inner.write_state();
            let (value, ops) = decide(&state.tables)?;
            if ops.is_empty() {
                return Ok(value);
            }
            let state = &mut *state;
            journal::encode(&ops, &mut state.pending)
                .map_err(|e| RepositoryError::Unexpected(Box::new(e)))?;
            let seq = state.next_seq;
            state.next_seq += 1;
            let mut undo = Vec::with_capacity(ops.len());
            for op in ops {
                let (users, sessions) = op.files();
                let step = apply_undoable(&mut state.tables, op);
                let cascaded =
                    matches!(&step, Undo::Reinsert { sessions, .. } if !sessions.is_empty());
                if users {
                    state.users_dirty.store(true, Ordering::Relaxed);
                }
                if sessions || cascaded {
                    state.sessions_dirty.store(true, Ordering::Relaxed);
                }
                undo.push(step);
            }
            state.undo.push_back((seq, undo));
            (value, seq)
        };
        // Spawned before the first await: once applied, a change is always
        // committed or undone, even if the caller goes away. Committers
        // queue at the gate without holding a thread; the first one through
        // appends every entry pending by then, so the ones queued behind it
        // usually find theirs durable already.
        let inner = Arc::clone(&self.inner);
        let committed = tokio::spawn(async move {
            let _gate = inner.gate.lock().await;
            let worker = Arc::clone(&inner);
            tokio::task::spawn_blocking(move || worker.commit(seq)).await
        });
        committed
            .await
            .map_err(|e| RepositoryError::Unexpected(Box::new(e)))?
            .map_err(|e| RepositoryError::Unexpected(Box::new(e)))??;
        Ok(value)
    }
}

/// Compacts in the background whenever the journal is due, until the
/// store is gone.
async fn compactor(
    inner: Weak<Inner>,
    progress: Arc<journal::Progress>,
    settings: JournalSettings,
) {
    let tick = Duration::from_millis(500).min(settings.compact_age);
    let mut ticks = tokio::time::interval(tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // The store is kept alive only while it compacts, so dropping it
        // releases the directory at once otherwise.
        if !progress.due(settings.compact_bytes, settings.compact_age) {
            continue;
        }
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let started = std::time::Instant::now();
        let worker = Arc::clone(&inner);
        match tokio::task::spawn_blocking(move || worker.compact()).await {
            Ok(Ok(())) => tracing::info!(
                dir = %inner.dir.display(),
                millis = started.elapsed().as_millis() as u64,
                "journal compacted into the Flask files"
            ),
            Ok(Err(error)) => tracing::warn!(
                error = %error,
                "journal compaction failed; the journal is kept and compaction will be retried"
            ),
            Err(error) => tracing::warn!(error = %error, "journal compaction was interrupted"),
        }
    }
}

impl Inner {
    fn read_state(&self) -> RwLockReadGuard<'_, State> {
        // Table operations do not panic half-way (see adapter_memory), so a
        // poisoned lock still guards consistent tables.
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_journal(&self) -> MutexGuard<'_, Writer> {
        self.journal.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns once the change numbered `seq` is durable, appending every
    /// pending entry when no one else already did; an error when it was
    /// undone instead.
    fn commit(&self, seq: u64) -> Result<(), RepositoryError> {
        let mut journal = self.lock_journal();
        if journal.failed.remove(&seq) {
            return Err(RepositoryError::Unexpected(
                "the journal could not be written; the change was undone".into(),
            ));
        }
        if journal.durable_through >= seq {
            return Ok(());
        }
        let flushed = self.flush(&mut journal);
        journal.failed.remove(&seq);
        flushed.map_err(|e| RepositoryError::Unexpected(Box::new(e)))
    }

    /// Appends every pending entry. On failure every change not durable is
    /// undone, newest first, and marked failed for its waiter.
    fn flush(&self, journal: &mut Writer) -> Result<(), WriteError> {
        let (bytes, through) = {
            let mut state = self.write_state();
            (std::mem::take(&mut state.pending), state.next_seq - 1)
        };
        if bytes.is_empty() {
            journal.durable_through = through;
            return Ok(());
        }
        match journal.append(&bytes) {
            Ok(()) => {
                journal.durable_through = through;
                let mut state = self.write_state();
                while state.undo.front().is_some_and(|(seq, _)| *seq <= through) {
                    state.undo.pop_front();
                }
                Ok(())
            }
            Err(error) => {
                let mut state = self.write_state();
                let state = &mut *state;
                while let Some((seq, undo)) = state.undo.pop_back() {
                    for step in undo.into_iter().rev() {
                        step.apply(&mut state.tables);
                    }
                    journal.failed.insert(seq);
                }
                state.pending.clear();
                tracing::error!(error = %error, "cannot append to the journal; changes undone");
                Err(error)
            }
        }
    }

    /// Writes the Flask files from memory and deletes the journal
    /// generations they cover.
    fn compact(&self) -> Result<(), RepositoryError> {
        let _one = self
            .compaction
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.lock_journal()
            .progress
            .soon
            .store(false, Ordering::Relaxed);
        let (files, dirty, covered) = {
            let mut journal = self.lock_journal();
            // The snapshot must hold only durable changes: flush, then check
            // under the read lock (which no change can pass) that nothing
            // was applied since.
            let state = loop {
                self.flush(&mut journal)
                    .map_err(|e| RepositoryError::Unexpected(Box::new(e)))?;
                let state = self.read_state();
                if state.pending.is_empty() {
                    break state;
                }
            };
            let dirty = (
                state.users_dirty.swap(false, Ordering::Relaxed),
                state.sessions_dirty.swap(false, Ordering::Relaxed),
            );
            let mut files = Vec::with_capacity(2);
            if dirty.0 {
                files.push((USER_FILE, records::users_json(&state.tables)));
            }
            if dirty.1 {
                files.push((SESSION_FILE, records::sessions_json(&state.tables)));
            }
            (files, dirty, journal.rotate())
        };
        let written = self.replace_files(files);
        if written.is_err() {
            let state = self.read_state();
            if dirty.0 {
                state.users_dirty.store(true, Ordering::Relaxed);
            }
            if dirty.1 {
                state.sessions_dirty.store(true, Ordering::Relaxed);
            }
        }
        written?;
        self.lock_journal()
            .remove_through(covered)
            .map_err(|e| RepositoryError::Unexpected(Box::new(e)))
    }

    fn replace_files(
        &self,
        files: Vec<(&str, Result<Vec<u8>, serde_json::Error>)>,
    ) -> Result<(), RepositoryError> {
        if files.is_empty() {
            return Ok(());
        }
        for (name, bytes) in files {
            let bytes = bytes.map_err(|e| RepositoryError::Unexpected(Box::new(e)))?;
            atomic_file::replace(&self.dir, name, &bytes).map_err(unexpected)?;
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        atomic_file::sync_dir(&self.dir).map_err(unexpected)
    }
}

/// Removes the temporary files a compaction interrupted by a crash left
/// (named by [`atomic_file`] after the file they were to replace). Only
/// names this store gives its own temporary files are touched.
fn remove_own_temporary_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if atomic_file::is_temporary_of(name, USER_FILE)
            || atomic_file::is_temporary_of(name, SESSION_FILE)
        {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => tracing::warn!(
                    file = %entry.path().display(),
                    "removed a temporary file left by an interrupted compaction"
                ),
                Err(error) => tracing::warn!(
                    file = %entry.path().display(),
                    error = %error,
                    "cannot remove a temporary file left by an interrupted compaction"
                ),
            }
        }
    }
}

/// The tables the Flask files in `dir` hold, and the sessions file's path
/// with how many of its sessions held a raw token.
fn load_files(dir: &Path) -> Result<(Tables, Option<(PathBuf, usize)>), OpenError> {
    if let Some(loaded) = stream_files(dir)? {
        return Ok(loaded);
    }
    // A key repeated within a file (edited by hand): the record keeps the
    // first place and the last value, which needs every record first.
    let mut tables = Tables::new();
    if let Some((path, bytes)) = read_if_present(dir, USER_FILE)? {
        tables.load_users(records::parse_users(&path, &bytes)?);
    }
    let mut raw_tokens = None;
    if let Some((path, bytes)) = read_if_present(dir, SESSION_FILE)? {
        let loaded = records::parse_sessions(&path, &bytes)?;
        for session in loaded.sessions {
            tables.load_session(session);
        }
        raw_tokens = Some((path, loaded.raw_tokens));
    }
    Ok((tables, raw_tokens))
}

/// [`load_files`] record by record as each file is parsed (no list of
/// every record in between); `None` when a file repeats a key.
#[allow(clippy::type_complexity)]
fn stream_files(dir: &Path) -> Result<Option<(Tables, Option<(PathBuf, usize)>)>, OpenError> {
    let mut tables = Tables::new();
    if let Some((path, bytes)) = read_if_present(dir, USER_FILE)?
        && !records::stream_users(&path, &bytes, &mut tables)?
    {
        return Ok(None);
    }
    let mut raw_tokens = None;
    if let Some((path, bytes)) = read_if_present(dir, SESSION_FILE)? {
        match records::stream_sessions(&path, &bytes, &mut tables)? {
            Some(count) => raw_tokens = Some((path, count)),
            None => return Ok(None),
        }
    }
    Ok(Some((tables, raw_tokens)))
}

/// Reads the Flask API's files in `dir` record by record, without locking
/// or changing anything: a missing file has no records.
///
/// # Errors
/// [`OpenError`] when a file cannot be read or is not a JSON object; a bad
/// record is an `Err` in its place in [`FlaskRecords`] instead.
pub fn read_flask_records(dir: &Path) -> Result<FlaskRecords, OpenError> {
    let users = read_if_present(dir, USER_FILE)?;
    let sessions = read_if_present(dir, SESSION_FILE)?;
    records::parse_each(
        users.as_ref().map(|(p, b)| (p.as_path(), b.as_slice())),
        sessions.as_ref().map(|(p, b)| (p.as_path(), b.as_slice())),
    )
}

fn unexpected(e: WriteError) -> RepositoryError {
    RepositoryError::Unexpected(Box::new(e))
}

/// The path and content of `dir/name`, `None` when it does not exist.
fn read_if_present(dir: &Path, name: &str) -> Result<Option<(PathBuf, Vec<u8>)>, OpenError> {
    let path = dir.join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some((path, bytes))),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(OpenError::Read { path, source }),
    }
}

#[async_trait]
impl UserRepository for FileStore {
    async fn insert(&self, user: &User) -> Result<(), RepositoryError> {
        self.change(|t| {
            t.check_new_user(user)?;
            Ok(((), vec![Op::PutUser(user.clone())]))
        })
        .await
    }

    async fn insert_imported(&self, user: &User) -> Result<(), RepositoryError> {
        self.change(|t| {
            t.check_imported_user(user)?;
            Ok(((), vec![Op::PutUser(user.clone())]))
        })
        .await
    }

    async fn get(&self, id: &UserId) -> Result<Option<User>, RepositoryError> {
        Ok(self.read().tables.user(id).cloned())
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError> {
        Ok(self.read().tables.user_by_email(email).cloned())
    }

    async fn list(&self) -> Result<Vec<User>, RepositoryError> {
        Ok(self.read().tables.users().cloned().collect())
    }

    async fn count(&self) -> Result<u64, RepositoryError> {
        Ok(self.read().tables.users().len() as u64)
    }

    async fn update(&self, user: &User) -> Result<bool, RepositoryError> {
        self.change(|t| {
            let Some(current) = t.user(&user.id) else {
                return Ok((false, Vec::new()));
            };
            // An update that changes nothing need not be written.
            if current == user {
                return Ok((true, Vec::new()));
            }
            if !t.may_take_email(user) {
                return Err(RepositoryError::DuplicateEmail);
            }
            Ok((true, vec![Op::PutUser(user.clone())]))
        })
        .await
    }

    async fn update_names(
        &self,
        id: &UserId,
        names: &NameChange,
        at: DateTime<Utc>,
    ) -> Result<Option<User>, RepositoryError> {
        // Decided from the tables as they are when the change is made, so a
        // password changed meanwhile is kept.
        self.change(|t| match t.renamed(id, names, at) {
            Some(renamed) => Ok((Some(renamed.clone()), vec![Op::PutUser(renamed)])),
            None => Ok((None, Vec::new())),
        })
        .await
    }

    async fn replace_password_hash(
        &self,
        id: &UserId,
        expected: &PasswordHash,
        new: &PasswordHash,
        at: Option<DateTime<Utc>>,
    ) -> Result<bool, RepositoryError> {
        self.change(|t| match t.with_password_hash(id, expected, new, at) {
            Some(changed) => Ok((true, vec![Op::PutUser(changed)])),
            None => Ok((false, Vec::new())),
        })
        .await
    }

    async fn set_admin(
        &self,
        id: &UserId,
        is_admin: bool,
        at: DateTime<Utc>,
    ) -> Result<Option<User>, RepositoryError> {
        // Decided under the tables' write lock: two revocations cannot
        // both see the other administrator.
        self.change(|t| match t.with_admin(id, is_admin, at)? {
            Some(user) if t.user(id) != Some(&user) => {
                Ok((Some(user.clone()), vec![Op::PutUser(user)]))
            }
            unchanged => Ok((unchanged, Vec::new())),
        })
        .await
    }

    async fn delete(&self, id: &UserId) -> Result<bool, RepositoryError> {
        self.change(|t| {
            if t.user(id).is_none() {
                return Ok((false, Vec::new()));
            }
            Ok((true, vec![Op::DeleteUser(*id)]))
        })
        .await
    }
}

#[async_trait]
impl SessionRepository for FileStore {
    async fn insert(&self, session: &Session) -> Result<(), RepositoryError> {
        self.change(|_| Ok(((), vec![Op::PutSession(session.clone())])))
            .await
    }

    async fn find(&self, key: &SessionKey) -> Result<Option<Session>, RepositoryError> {
        Ok(self.read().tables.session(key))
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, RepositoryError> {
        self.change(|t| {
            if t.session(key).is_none() {
                return Ok((false, Vec::new()));
            }
            Ok((true, vec![Op::DeleteSession(key.clone())]))
        })
        .await
    }

    async fn touch(&self, key: &SessionKey, at: DateTime<Utc>) -> Result<bool, RepositoryError> {
        self.change(|t| {
            if t.session(key).is_none() {
                return Ok((false, Vec::new()));
            }
            Ok((true, vec![Op::TouchSession(key.clone(), at)]))
        })
        .await
    }

    async fn list_by_user(&self, user_id: &UserId) -> Result<Vec<Session>, RepositoryError> {
        Ok(self.read().tables.sessions_of(user_id))
    }

    async fn delete_by_user(
        &self,
        user_id: &UserId,
        except: Option<&SessionKey>,
    ) -> Result<u64, RepositoryError> {
        self.change(|t| {
            let ops: Vec<Op> = t
                .sessions_of(user_id)
                .into_iter()
                .filter(|s| Some(&s.key) != except)
                .map(|s| Op::DeleteSession(s.key))
                .collect();
            Ok((ops.len() as u64, ops))
        })
        .await
    }

    async fn delete_expired(
        &self,
        created_before: Option<DateTime<Utc>>,
        last_used_before: Option<DateTime<Utc>>,
    ) -> Result<u64, RepositoryError> {
        self.change(|t| {
            let ops: Vec<Op> = t
                .expired_session_keys(created_before, last_used_before)
                .into_iter()
                .map(Op::DeleteSession)
                .collect();
            Ok((ops.len() as u64, ops))
        })
        .await
    }

    async fn count_live(
        &self,
        created_before: Option<DateTime<Utc>>,
        last_used_before: Option<DateTime<Utc>>,
    ) -> Result<Option<u64>, RepositoryError> {
        Ok(Some(
            self.read()
                .tables
                .count_live_sessions(created_before, last_used_before),
        ))
    }
}

#[cfg(test)]
mod tests;
