//! Storage in process memory.
//!
//! [`Tables`] are the indexed collections (users by id and by email,
//! sessions by key and by user); [`MemoryStore`] serves both storage ports
//! from them; [`MemoryRecoveryTickets`] keeps password-reset tickets. The file adapter keeps the same tables in memory and persists
//! them, so both adapters share one implementation of the look-ups.

mod attempt_log;
mod recovery_tickets;
mod store;
mod tables;

pub use attempt_log::MemoryAttemptLog;
pub use recovery_tickets::MemoryRecoveryTickets;
pub use store::MemoryStore;
pub use tables::Tables;
