//! The server's side of the admin socket: listens in the data directory
//! while the server holds it, and carries out each operation received
//! through the operator's use cases.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use domain::UseCases;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use super::{MAX_REQUEST_BYTES, Reply, socket_path};
use crate::commands::{CommandError, Operation, operator_use_cases};
use crate::config::{ServeArgs, StorageKind};
use crate::storage::Storage;

/// The admin socket of a running server; [`AdminSocket::close`] stops it
/// and removes the socket file.
pub struct AdminSocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl AdminSocket {
    /// Listens on the data directory's admin socket when the storage is
    /// the file storage (the one a server holds alone; SQL storage is
    /// shared, and the commands open it themselves). A socket file left
    /// by a server that died is replaced: this server holds the folder's
    /// lock, so no other server listens there. When the socket cannot be
    /// made the server runs without it, with a warning: the commands then
    /// say that the server does not answer.
    pub fn open(args: &ServeArgs, storage: &Storage) -> Option<Self> {
        if args.storage.storage != StorageKind::File {
            return None;
        }
        let path = socket_path(&args.storage.data_dir);
        let (listener, owner) = match bind(&path) {
            Ok(bound) => bound,
            Err(error) => {
                tracing::warn!(
                    socket = %path.display(),
                    error = %error,
                    "cannot listen on the admin socket: the CLI cannot reach this server; stop it to use the CLI on this folder"
                );
                return None;
            }
        };
        let use_cases = Arc::new(operator_use_cases(args, storage));
        let timeout = Duration::from_secs(args.storage.admin_socket_timeout.into());
        let task = tokio::spawn(serve(listener, use_cases, owner, timeout));
        tracing::debug!(socket = %path.display(), "admin socket listening");
        Some(Self { path, task })
    }

    /// Stops listening and removes the socket file.
    pub fn close(self) {
        self.task.abort();
        if let Err(error) = std::fs::remove_file(&self.path) {
            tracing::warn!(socket = %self.path.display(), error = %error, "cannot remove the admin socket");
        }
    }
}

/// Binds the socket, readable and writable by its owner only; the uid of
/// that owner (the server's).
fn bind(path: &Path) -> std::io::Result<(UnixListener, u32)> {
    match std::fs::symlink_metadata(path) {
        Ok(found) if found.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "a file that is not a socket has this name",
            ));
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let owner = std::fs::metadata(path)?.uid();
    Ok((listener, owner))
}

/// Serves one connection at a time, for the life of the server.
async fn serve(listener: UnixListener, use_cases: Arc<UseCases>, owner: u32, timeout: Duration) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => answer(stream, &use_cases, owner, timeout).await,
            Err(error) => {
                // Out of descriptors, most likely: back off rather than spin.
                tracing::warn!(error = %error, "admin socket: cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Reads one operation, carries it out, answers. The request is read
/// before the peer is judged, so that a refused peer reads the refusal
/// (a socket closed with its request unread would reset the connection).
async fn answer(mut stream: UnixStream, use_cases: &UseCases, owner: u32, timeout: Duration) {
    let peer = stream.peer_cred().map(|cred| cred.uid());
    let request = tokio::time::timeout(timeout, read_request(&mut stream)).await;
    let reply = match (peer, request) {
        (Ok(uid), _) if uid != owner && uid != 0 => {
            tracing::warn!(uid, "admin socket: refused a connection from another user");
            Reply::Error(
                "the server serves its admin socket only to the user it runs as".to_owned(),
            )
        }
        (Err(error), _) => {
            Reply::Error(format!("admin socket: cannot tell who connected: {error}"))
        }
        (Ok(_), Ok(Ok(Some(operation)))) => {
            tracing::debug!(
                command = operation.name(),
                "admin socket: carrying out a command"
            );
            match operation.perform(use_cases).await {
                Ok(output) => Reply::Output(output),
                Err(error) => Reply::Error(error.describe()),
            }
        }
        // Connected and closed without a request: a command checking that
        // the server answers.
        (Ok(_), Ok(Ok(None))) => return,
        (Ok(_), Ok(Err(error))) => Reply::Error(format!("admin socket: {error}")),
        (Ok(_), Err(_)) => Reply::Error(format!(
            "admin socket: no request within ADMIN_SOCKET_TIMEOUT ({} s)",
            timeout.as_secs()
        )),
    };
    let mut line = serde_json::to_vec(&reply).unwrap_or_else(|_| b"{\"error\":\"\"}".to_vec());
    line.push(b'\n');
    let written = tokio::time::timeout(timeout, async {
        stream.write_all(&line).await?;
        stream.shutdown().await
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        tracing::warn!("admin socket: the command went away before its answer");
    }
}

/// The request line, `None` when the peer sent nothing.
async fn read_request(stream: &mut UnixStream) -> Result<Option<Operation>, CommandError> {
    let mut line = Vec::new();
    let read = BufReader::new(&mut *stream)
        .take(MAX_REQUEST_BYTES + 1)
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| CommandError::Remote(format!("cannot read the request: {e}")))?;
    if read == 0 {
        return Ok(None);
    }
    if read as u64 > MAX_REQUEST_BYTES {
        return Err(CommandError::Remote(format!(
            "the request is longer than {MAX_REQUEST_BYTES} bytes"
        )));
    }
    serde_json::from_slice(&line)
        .map(Some)
        .map_err(|e| CommandError::Remote(format!("not a command this server knows ({e})")))
}
