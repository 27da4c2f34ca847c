//! The journal: every change to the data, appended and flushed to disk
//! before it is acknowledged, so a change costs a few hundred bytes of
//! writing instead of a rewrite of the Flask files.
//!
//! # Format
//! Files `.session-auth.journal.<n>` in the data directory, `n` a
//! generation number counting up from 1. Each entry is one line:
//!
//! ```text
//! <crc32 of the JSON, 8 lowercase hex digits> <JSON array of operations>\n
//! ```
//!
//! An operation is one of `{"put_user": <user record>}`,
//! `{"delete_user": "<id>"}` (the user's sessions go with it),
//! `{"put_session": <session record>}`, `{"delete_session": "<key digest>"}`
//! and `{"touch_session": {"key": "<key digest>", "at": "<timestamp>"}}`;
//! records are written exactly as in the Flask files. One entry is one
//! port call: it is replayed whole or not at all.
//!
//! Every operation sets a record to a value or removes it, so replaying an
//! entry whose change the Flask files already hold changes nothing: the
//! files may be rewritten before the journals they cover are deleted.
//!
//! Here: the files' names ([`JOURNAL_PREFIX`]); in the submodules, the
//! operations and their encoding, the decoding of a line, the replay at
//! start and the appending writer.

mod decode;
mod files;
mod ops;
mod replay;
mod writer;

pub use files::JOURNAL_PREFIX;
pub(crate) use ops::{Op, encode};
pub(crate) use replay::replay;
pub(crate) use writer::{Progress, Writer};

#[cfg(test)]
mod tests;
