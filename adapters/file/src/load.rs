//! Opening a data directory: its lock taken, the temporary files a crash
//! left removed, the Flask files loaded and the journal replayed into the
//! store's state; and the Flask files' records read on their own, for an
//! import.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use adapter_memory::Tables;

use crate::error::OpenError;
use crate::journal::{self, Writer};
use crate::records::{self, FlaskRecords, SESSION_FILE, USER_FILE};
use crate::state::{Inner, State};
use crate::{atomic_file, dir_lock};

/// Opens the data directory `dir`, which exists: locks it, removes the
/// temporary files a crashed compaction left, loads both Flask files and
/// replays the journal over them.
pub(crate) fn open_dir(dir: &Path) -> Result<Inner, OpenError> {
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
    Ok(Inner {
        dir: dir.to_path_buf(),
        state: RwLock::new(state),
        journal: Mutex::new(writer),
        gate: tokio::sync::Mutex::new(()),
        compaction: Mutex::new(()),
        writes: AtomicU64::new(0),
        _lock: lock,
    })
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

/// The path and content of `dir/name`, `None` when it does not exist.
fn read_if_present(dir: &Path, name: &str) -> Result<Option<(PathBuf, Vec<u8>)>, OpenError> {
    let path = dir.join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some((path, bytes))),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(OpenError::Read { path, source }),
    }
}
