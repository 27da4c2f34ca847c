//! Why a data directory could not be opened, worded for the operator who
//! has to fix it.

use std::path::PathBuf;

/// A reason [`FileStore::open_with`](crate::FileStore::open_with) refused to start.
///
/// Every variant names the path involved; none of them leaves a data file
/// changed (opening never writes a data file).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The data directory does not exist and could not be created.
    #[error("cannot create the data directory {}", dir.display())]
    CreateDir {
        /// The directory that was asked for.
        dir: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// Another process (or another store in this process) holds the lock.
    #[error(
        "another session-auth process is using {} (lock file {} is held); \
         stop it or choose another DATA_DIR",
        dir.display(),
        lock_file.display()
    )]
    Locked {
        /// The data directory.
        dir: PathBuf,
        /// The lock file inside it.
        lock_file: PathBuf,
    },

    /// The lock file could not be created or locked for a reason other than
    /// someone else holding it.
    #[error("cannot lock {}", lock_file.display())]
    Lock {
        /// The lock file.
        lock_file: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// A data file exists but could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The data file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// A data file is not valid JSON (truncated, hand-edited, …).
    #[error(
        "{} is not valid JSON (line {line}, column {column}); \
         it was left untouched: repair it or restore a backup",
        path.display()
    )]
    Syntax {
        /// The data file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error (0 when the file ended early at the
        /// start of a line).
        column: usize,
        /// The parser's description.
        #[source]
        source: serde_json::Error,
    },

    /// A data file is valid JSON but not an object mapping ids to records.
    #[error("{} is not a JSON object mapping record ids to records", path.display())]
    NotAnObject {
        /// The data file.
        path: PathBuf,
    },

    /// A record parses but cannot be used. Loading stops rather than
    /// dropping it, because the next write would lose it for good.
    #[error("{}: record {record:?} {problem}", path.display())]
    BadRecord {
        /// The data file.
        path: PathBuf,
        /// The record's key in the file.
        record: String,
        /// What is wrong with it (never a secret's value).
        problem: String,
    },

    /// A journal entry is damaged in a way a crash cannot explain (a torn
    /// last entry is dropped instead), or holds something unusable.
    #[error(
        "journal {} line {line} {problem}; it was left untouched: \
         repair it or restore a backup",
        path.display()
    )]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// 1-based line (entry) number.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },

    /// The start-up task reading the directory did not finish (the runtime
    /// is shutting down, or it panicked).
    #[error("opening the data directory {} was interrupted", dir.display())]
    Interrupted {
        /// The data directory.
        dir: PathBuf,
        /// Why the task did not finish.
        #[source]
        source: tokio::task::JoinError,
    },
}
