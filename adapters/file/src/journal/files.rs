//! The journal's files: their names, one per generation, and which
//! generations a data directory holds.

use std::path::{Path, PathBuf};

use crate::error::OpenError;

/// The journal files' names: this prefix, then the generation number.
pub const JOURNAL_PREFIX: &str = ".session-auth.journal.";

/// The journal generations present in `dir`, oldest first.
pub(crate) fn generations(dir: &Path) -> Result<Vec<u64>, OpenError> {
    let entries = std::fs::read_dir(dir).map_err(|source| OpenError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if let Some(n) = name
            .to_str()
            .and_then(|n| n.strip_prefix(JOURNAL_PREFIX))
            .and_then(|n| n.parse::<u64>().ok())
        {
            found.push(n);
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// The path of generation `n`.
pub(crate) fn path_of(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{JOURNAL_PREFIX}{n}"))
}
