//! The admin socket: how a command reaches the server that holds the file
//! storage's folder, so that the CLI reads and changes users and sessions
//! while the server runs, without a second process writing the folder.
//!
//! The server listens on `DATA_DIR/.session-auth.admin.sock` (a Unix
//! socket, mode 0600) while it holds the folder's lock, and carries out
//! each [`Operation`] it receives through the same operator use cases a
//! command uses on its own ([`crate::commands::operator_use_cases`]), so
//! the rules, the audit trail (`actor: operator`, in the server's log) and
//! the output are the same. Only the user the server runs as (or root)
//! is served: the socket's mode keeps others out, and the server checks
//! the peer's uid too.
//!
//! One exchange per connection: the command sends one JSON line, the
//! [`Operation`]; the server answers one JSON line, a [`Reply`], and
//! closes. Requests are served one at a time (more wait in the kernel's
//! backlog); each side waits at most `ADMIN_SOCKET_TIMEOUT` for the other.
//!
//! [`Operation`]: crate::commands::Operation

mod client;
mod listener;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use client::Client;
pub use listener::AdminSocket;

/// The socket's name inside the data directory.
pub const SOCKET_FILE: &str = ".session-auth.admin.sock";

/// The longest request line a server reads. The largest valid operation
/// (a user with an email of 254 characters, two names of 1,024 and a
/// password of 128, each at most 4 bytes a character, JSON-escaped) is
/// under 16 KiB; this is the bound of a buffer, not a setting anyone
/// needs to tune.
const MAX_REQUEST_BYTES: u64 = 64 * 1024;

/// The server's answer to one operation.
#[derive(Serialize, Deserialize, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// Done: what the command prints.
    Output(String),
    /// Refused or failed: the message the command prints, causes included.
    Error(String),
}

/// The admin socket of the data directory `dir`.
pub fn socket_path(dir: &Path) -> PathBuf {
    dir.join(SOCKET_FILE)
}
