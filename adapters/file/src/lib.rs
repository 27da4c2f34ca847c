//! Storage in the Flask API's JSON files.
//!
//! [`FileStore`] serves both storage ports from
//! [`adapter_memory::Tables`] held in memory (every read is an in-memory,
//! indexed look-up) and persists every change to `.db_User.json` and
//! `.db_UserSession.json` in the data directory, in the format described in
//! the wire contract, so data written by the Flask API loads as it is.
//!
//! Durability: a port method that changes data returns only once the
//! changed file has been atomically replaced and flushed to disk.
//! Concurrent changes share file replacements (group commit): while one
//! write is in flight, every change made meanwhile is carried by the next
//! single write, so the number of writes does not grow with the number of
//! concurrent requests.

mod atomic_file;
mod dir_lock;
mod error;
mod records;

pub use atomic_file::WriteError;
pub use dir_lock::LOCK_FILE;
pub use error::OpenError;
pub use records::{FlaskRecords, SESSION_FILE, USER_FILE};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use adapter_memory::Tables;
use domain::{
    Email, NameChange, PasswordHash, RepositoryError, Session, SessionKey, SessionRepository, User,
    UserId, UserRepository,
};

/// Both storage ports over the JSON files of one data directory.
///
/// One store serves both ports so that deleting a user and their sessions
/// is one change. The store holds an exclusive lock on the directory for
/// its whole life; dropping it releases the lock.
///
/// # Failed writes
/// When a file cannot be written, the method that made the change returns
/// [`RepositoryError::Unexpected`] (the [`WriteError`] as its source), but
/// the change stays in memory and is carried by the next successful write:
/// with writes shared between callers, one caller's change cannot be
/// undone without undoing others'. The next write always retries the whole
/// state, so the files never miss a change that a later write covered.
pub struct FileStore {
    dir: PathBuf,
    state: RwLock<State>,
    /// What the files on disk hold. Guarded by the lock that serialises
    /// writes, so whoever holds it knows what still needs writing.
    durable: Arc<tokio::sync::Mutex<Versions>>,
    writes: Arc<AtomicU64>,
    /// Held only to keep the directory locked until the store is dropped.
    _lock: File,
}

/// The in-memory data and how many changes each file has seen.
struct State {
    tables: Tables,
    versions: Versions,
}

/// A change counter per file; a file is up to date when the durable
/// counter has reached the in-memory one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Versions {
    users: u64,
    sessions: u64,
}

impl Versions {
    fn covers(&self, other: &Versions) -> bool {
        self.users >= other.users && self.sessions >= other.sessions
    }
}

/// Which files a change touched.
#[derive(Clone, Copy)]
struct Touched {
    users: bool,
    sessions: bool,
}

impl Touched {
    const NOTHING: Self = Self {
        users: false,
        sessions: false,
    };

    /// The users file, when `changed`.
    fn users_if(changed: bool) -> Self {
        Self {
            users: changed,
            sessions: false,
        }
    }

    /// The sessions file, when `changed`.
    fn sessions_if(changed: bool) -> Self {
        Self {
            users: false,
            sessions: changed,
        }
    }
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("dir", &self.dir)
            .field("writes_performed", &self.writes_performed())
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// Opens the data directory `dir`: creates it if missing, locks it, and
    /// loads both files (a missing file is empty storage; files are created
    /// at the first write). The blocking work runs on the blocking pool.
    ///
    /// # Errors
    /// [`OpenError`] when the directory is locked by another store, cannot
    /// be created or read, or a file is not valid JSON or holds a record
    /// that cannot be used. The files are never modified by opening.
    pub async fn open(dir: &Path) -> Result<Self, OpenError> {
        let owned = dir.to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(&owned))
            .await
            .map_err(|source| OpenError::Interrupted {
                dir: dir.to_path_buf(),
                source,
            })?
    }

    /// [`FileStore::open`] for callers outside an async context.
    ///
    /// # Errors
    /// As [`FileStore::open`].
    pub fn open_blocking(dir: &Path) -> Result<Self, OpenError> {
        std::fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir {
            dir: dir.to_path_buf(),
            source,
        })?;
        // Locked before reading, so no other store can write between the
        // read and our first write.
        let lock = dir_lock::acquire(dir)?;

        let mut tables = Tables::new();
        let mut versions = Versions::default();
        if let Some((path, bytes)) = read_if_present(dir, USER_FILE)? {
            for user in records::parse_users(&path, &bytes)? {
                tables.load_user(user);
            }
        }
        if let Some((path, bytes)) = read_if_present(dir, SESSION_FILE)? {
            let loaded = records::parse_sessions(&path, &bytes)?;
            for session in loaded.sessions {
                tables.load_session(session);
            }
            if loaded.raw_tokens > 0 {
                // The file differs from the tables (raw tokens versus their
                // digests): the next write, whatever it changes, replaces
                // it so the live tokens leave the disk.
                versions.sessions = 1;
                tracing::warn!(
                    file = %path.display(),
                    count = loaded.raw_tokens,
                    "sessions stored with raw tokens (Flask format); \
                     they will be stored as digests at the next write"
                );
            }
        }
        tracing::info!(
            dir = %dir.display(),
            users = tables.users().len(),
            sessions = tables.sessions().len(),
            "file storage opened"
        );

        Ok(Self {
            dir: dir.to_path_buf(),
            state: RwLock::new(State { tables, versions }),
            durable: Arc::new(tokio::sync::Mutex::new(Versions::default())),
            writes: Arc::new(AtomicU64::new(0)),
            _lock: lock,
        })
    }

    /// How many file replacements this store has performed; lets tests
    /// observe that concurrent changes share writes.
    pub fn writes_performed(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // Table operations do not panic half-way (see adapter_memory), so a
        // poisoned lock still guards consistent tables.
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `change` to the tables, then waits until it is on disk.
    /// `change` says which files it touched; when it touched none, nothing
    /// is written.
    async fn change<T>(
        &self,
        change: impl FnOnce(&mut Tables) -> Result<(T, Touched), RepositoryError>,
    ) -> Result<T, RepositoryError> {
        let (value, target) = {
            let mut state = self.write();
            let (value, touched) = change(&mut state.tables)?;
            if !touched.users && !touched.sessions {
                return Ok(value);
            }
            state.versions.users += u64::from(touched.users);
            state.versions.sessions += u64::from(touched.sessions);
            (value, state.versions)
        };
        self.persist(target).await?;
        Ok(value)
    }

    /// Returns once the files hold at least the changes up to `target`.
    ///
    /// Writes are serialised by the `durable` lock. Whoever gets it either
    /// finds its change already written by the previous holder, or writes
    /// the whole current state, carrying every change made while it waited.
    async fn persist(&self, target: Versions) -> Result<(), RepositoryError> {
        let durable = Arc::clone(&self.durable).lock_owned().await;
        if durable.covers(&target) {
            return Ok(());
        }
        let (snapshot, files) = {
            let state = self.read();
            let mut files = Vec::with_capacity(2);
            if state.versions.users > durable.users {
                files.push((USER_FILE, records::users_json(&state.tables)));
            }
            if state.versions.sessions > durable.sessions {
                files.push((SESSION_FILE, records::sessions_json(&state.tables)));
            }
            (state.versions, files)
        };
        let dir = self.dir.clone();
        let writes = Arc::clone(&self.writes);
        // The lock guard moves into the blocking task: if the caller's
        // future is dropped mid-write, the lock is still held until the
        // write ends, so an older snapshot can never be renamed over a
        // newer one.
        let written = tokio::task::spawn_blocking(move || {
            let mut durable = durable;
            for (name, bytes) in files {
                let bytes = bytes.map_err(|e| RepositoryError::Unexpected(Box::new(e)))?;
                atomic_file::replace(&dir, name, &bytes).map_err(unexpected)?;
                writes.fetch_add(1, Ordering::Relaxed);
            }
            atomic_file::sync_dir(&dir).map_err(unexpected)?;
            // Recorded only when everything is durable; after a failure the
            // next write retries the whole state.
            *durable = snapshot;
            Ok(())
        })
        .await;
        written.map_err(|e| RepositoryError::Unexpected(Box::new(e)))?
    }
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
        self.change(|t| t.insert_user(user).map(|()| ((), Touched::users_if(true))))
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
            // An update that changes nothing need not be written.
            if t.user(&user.id) == Some(user) {
                return Ok((true, Touched::NOTHING));
            }
            let found = t.update_user(user)?;
            Ok((found, Touched::users_if(found)))
        })
        .await
    }

    async fn update_names(
        &self,
        id: &UserId,
        names: &NameChange,
        at: DateTime<Utc>,
    ) -> Result<Option<User>, RepositoryError> {
        self.change(|t| {
            let updated = t.update_names(id, names, at);
            let touched = Touched::users_if(updated.is_some());
            Ok((updated, touched))
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
        self.change(|t| {
            let replaced = t.replace_password_hash(id, expected, new, at);
            Ok((replaced, Touched::users_if(replaced)))
        })
        .await
    }

    async fn delete(&self, id: &UserId) -> Result<bool, RepositoryError> {
        self.change(|t| {
            let sessions_before = t.sessions().len();
            let found = t.delete_user(id);
            let touched = Touched {
                users: found,
                sessions: t.sessions().len() != sessions_before,
            };
            Ok((found, touched))
        })
        .await
    }
}

#[async_trait]
impl SessionRepository for FileStore {
    async fn insert(&self, session: &Session) -> Result<(), RepositoryError> {
        self.change(|t| {
            t.insert_session(session);
            Ok(((), Touched::sessions_if(true)))
        })
        .await
    }

    async fn find(&self, key: &SessionKey) -> Result<Option<Session>, RepositoryError> {
        Ok(self.read().tables.session(key).cloned())
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, RepositoryError> {
        self.change(|t| {
            let found = t.delete_session(key);
            Ok((found, Touched::sessions_if(found)))
        })
        .await
    }

    async fn touch(&self, key: &SessionKey, at: DateTime<Utc>) -> Result<bool, RepositoryError> {
        self.change(|t| {
            let found = t.touch_session(key, at);
            Ok((found, Touched::sessions_if(found)))
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
            let n = t.delete_sessions_of(user_id, except);
            Ok((n, Touched::sessions_if(n > 0)))
        })
        .await
    }

    async fn delete_expired(
        &self,
        created_before: Option<DateTime<Utc>>,
        last_used_before: Option<DateTime<Utc>>,
    ) -> Result<u64, RepositoryError> {
        self.change(|t| {
            let n = t.delete_expired_sessions(created_before, last_used_before);
            Ok((n, Touched::sessions_if(n > 0)))
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
