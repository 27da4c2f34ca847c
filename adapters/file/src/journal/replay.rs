//! Replaying the journal at start: every generation's entries applied over
//! the tables loaded from the Flask files, a torn last entry dropped.

use std::path::Path;

use adapter_memory::Tables;

use super::decode::decode;
use super::files::{generations, path_of};
use super::ops::Op;
use crate::error::OpenError;

/// The journal found at start, replayed.
#[derive(Debug, Default)]
pub(crate) struct Replayed {
    /// Generations present, oldest first.
    pub generations: Vec<u64>,
    /// The length of the newest generation's valid entries.
    pub valid_len: u64,
    /// Total bytes of valid entries over every generation.
    pub bytes: u64,
    /// Entries replayed.
    pub entries: u64,
    /// Whether the newest generation ended in a torn entry (dropped).
    pub torn: bool,
    /// Whether a replayed operation touched the users file, the sessions
    /// file.
    pub users_changed: bool,
    /// See `users_changed`.
    pub sessions_changed: bool,
}

/// Replays every journal generation in `dir` over `tables`, oldest first.
///
/// A last entry of the newest generation that is incomplete or fails its
/// checksum is the trace of a crash mid-append: that change was never
/// acknowledged, so it is dropped (the caller truncates it). A bad entry
/// anywhere else is damage that cannot be explained by a crash, and stops
/// the start.
pub(crate) fn replay(dir: &Path, tables: &mut Tables) -> Result<Replayed, OpenError> {
    let mut replayed = Replayed {
        generations: generations(dir)?,
        ..Replayed::default()
    };
    let newest = replayed.generations.last().copied();
    for &n in &replayed.generations {
        let path = path_of(dir, n);
        let bytes = std::fs::read(&path).map_err(|source| OpenError::Read {
            path: path.clone(),
            source,
        })?;
        let mut offset = 0usize;
        let mut line_no = 0usize;
        while offset < bytes.len() {
            line_no += 1;
            let rest = &bytes[offset..];
            let (line, complete) = match rest.iter().position(|b| *b == b'\n') {
                Some(end) => (&rest[..end], true),
                None => (rest, false),
            };
            let is_last = offset + line.len() + usize::from(complete) >= bytes.len();
            match decode(&path, line_no, line).filter(|_| complete) {
                Some(Ok(ops)) => {
                    for op in ops {
                        let (users, sessions) = op.files();
                        replayed.users_changed |= users;
                        replayed.sessions_changed |= sessions || matches!(op, Op::DeleteUser(_));
                        op.apply(tables);
                    }
                    replayed.entries += 1;
                    offset += line.len() + 1;
                }
                Some(Err(e)) => return Err(e),
                None if is_last && Some(n) == newest => {
                    tracing::warn!(
                        journal = %path.display(),
                        line = line_no,
                        bytes = rest.len(),
                        "the journal ends in a torn entry (the process stopped while \
                         appending it); that change was never acknowledged and is dropped"
                    );
                    replayed.torn = true;
                    break;
                }
                None => {
                    return Err(OpenError::Journal {
                        path,
                        line: line_no,
                        problem: "is damaged (bad checksum or incomplete) but is not the \
                                  last entry: it is not the trace of a crash"
                            .to_owned(),
                    });
                }
            }
        }
        replayed.bytes += offset as u64;
        if Some(n) == newest {
            replayed.valid_len = offset as u64;
        }
    }
    Ok(replayed)
}
