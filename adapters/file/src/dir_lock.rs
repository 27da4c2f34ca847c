//! The lock that keeps two processes from serving one data directory: each
//! would overwrite the other's changes with its own in-memory state.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use crate::error::OpenError;

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = ".session-auth.lock";

/// Takes the exclusive lock on `dir`; it is held as long as the returned
/// file is open, and released by the OS even if the process dies.
pub(crate) fn acquire(dir: &Path) -> Result<File, OpenError> {
    let lock_file = dir.join(LOCK_FILE);
    // The file is never truncated nor removed: removing a lock file races
    // with another process that has just opened it.
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_file)
        .map_err(|source| OpenError::Lock {
            lock_file: lock_file.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(OpenError::Locked {
            dir: dir.to_path_buf(),
            lock_file,
        }),
        Err(TryLockError::Error(source)) => Err(OpenError::Lock { lock_file, source }),
    }
}
