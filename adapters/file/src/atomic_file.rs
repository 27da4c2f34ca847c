//! Replacing a file so that a crash leaves either the old content or the
//! new, never a torn mix: write a temporary file beside it, flush it to the
//! disk, rename it over the target, then flush the directory so the rename
//! itself survives a power loss.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A file or directory operation of a write failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}", path.display())]
pub struct WriteError {
    /// The file (or directory) being written.
    pub path: PathBuf,
    /// What the OS said.
    #[source]
    pub source: std::io::Error,
}

/// How many random characters name a temporary file.
const RANDOM_LEN: usize = 6;

/// Replaces `dir/name` with `bytes`. The change is durable only once
/// [`sync_dir`] has also run.
pub(crate) fn replace(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), WriteError> {
    let target = dir.join(name);
    let failed = |source| WriteError {
        path: target.clone(),
        source,
    };
    // The temporary file must live in the same directory: a rename is only
    // atomic within one file system. Dropping it on an error removes it.
    let mut temp = tempfile::Builder::new()
        .prefix(&format!("{name}."))
        .suffix(".tmp")
        .rand_bytes(RANDOM_LEN)
        .tempfile_in(dir)
        .map_err(failed)?;
    temp.write_all(bytes).map_err(failed)?;
    temp.as_file().sync_all().map_err(failed)?;
    temp.persist(&target).map_err(|e| failed(e.error))?;
    Ok(())
}

/// Flushes the directory's entries, making earlier renames durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), WriteError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| WriteError {
            path: dir.to_path_buf(),
            source,
        })
}

/// Whether `name` is a temporary file [`replace`] creates for `target`
/// (`<target>.<6 random characters>.tmp`), which only a crash leaves.
pub(crate) fn is_temporary_of(name: &str, target: &str) -> bool {
    name.strip_prefix(target)
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|rest| rest.strip_suffix(".tmp"))
        .is_some_and(|random| {
            random.len() == RANDOM_LEN && random.chars().all(|c| c.is_ascii_alphanumeric())
        })
}
