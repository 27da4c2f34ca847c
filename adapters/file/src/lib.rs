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
//! Flask files. Password-reset tickets live in a file of their own
//! ([`FileRecoveryTickets`]).

mod atomic_file;
mod commit;
mod compaction;
mod dir_lock;
mod error;
pub mod journal;
mod load;
mod ports;
mod records;
mod recovery_tickets;
mod state;
mod store;
mod undo;

pub use atomic_file::WriteError;
pub use compaction::JournalSettings;
pub use dir_lock::LOCK_FILE;
pub use error::OpenError;
pub use journal::JOURNAL_PREFIX;
pub use load::read_flask_records;
pub use records::{FlaskRecords, SESSION_FILE, USER_FILE};
pub use recovery_tickets::{FileRecoveryTickets, RECOVERY_FILE};
pub use store::FileStore;

#[cfg(test)]
mod tests;
