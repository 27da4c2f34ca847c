//! The command's side of the admin socket: sends one operation to the
//! server that holds the folder and returns its answer.

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::{Reply, socket_path};
use crate::commands::{CommandError, Operation};
use crate::config::StorageArgs;

/// A server that answered on its admin socket.
#[derive(Debug)]
pub struct Client {
    socket: PathBuf,
    timeout: Duration,
}

impl Client {
    /// The admin socket of the storage's folder.
    pub fn socket_of(storage: &StorageArgs) -> PathBuf {
        socket_path(&storage.data_dir)
    }

    /// Connects once to the admin socket of the storage's folder, to learn
    /// that a server answers there.
    ///
    /// # Errors
    /// Why it could not connect (no socket yet, nobody listening).
    pub async fn reach(storage: &StorageArgs) -> std::io::Result<Self> {
        let socket = Self::socket_of(storage);
        let timeout = Duration::from_secs(storage.admin_socket_timeout.into());
        tokio::time::timeout(timeout, UnixStream::connect(&socket))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        Ok(Self { socket, timeout })
    }

    /// Has the server carry out `operation`; what to print.
    ///
    /// # Errors
    /// [`CommandError::Remote`] with the server's message when it refused
    /// or failed; [`CommandError::Interrupted`] when it stopped answering.
    pub async fn perform(&self, operation: &Operation) -> Result<String, CommandError> {
        let reply = tokio::time::timeout(self.timeout, self.exchange(operation))
            .await
            .map_err(|_| {
                CommandError::Interrupted(format!(
                    "no answer within ADMIN_SOCKET_TIMEOUT ({} s)",
                    self.timeout.as_secs()
                ))
            })?
            .map_err(|e| CommandError::Interrupted(e.to_string()))?;
        match reply {
            Reply::Output(output) => Ok(output),
            Reply::Error(message) => Err(CommandError::Remote(message)),
        }
    }

    async fn exchange(&self, operation: &Operation) -> std::io::Result<Reply> {
        let mut stream = UnixStream::connect(&self.socket).await?;
        let mut request = serde_json::to_vec(operation)?;
        request.push(b'\n');
        stream.write_all(&request).await?;
        stream.shutdown().await?;
        // As long as the output the same command prints when it runs
        // here, which it builds whole too.
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        if answer.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection without an answer",
            ));
        }
        Ok(serde_json::from_slice(&answer)?)
    }
}
