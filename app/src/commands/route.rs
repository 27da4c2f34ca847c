//! Where a user or session command is carried out: over the storage,
//! opened by the command itself; or, when a server holds the file
//! storage's folder, by that server through its admin socket
//! ([`crate::commands::remote`]).

use domain::UseCases;

use crate::commands::{CommandError, Operation, operator_use_cases};
use crate::config::ServeArgs;
use crate::storage::{StartError, Storage, open_storage};

/// Where the operations of one command go.
pub enum Route {
    /// The storage, opened by this process.
    Here {
        /// The storage.
        storage: Storage,
        /// The operator's use cases over it.
        use_cases: Box<UseCases>,
    },
    /// The server holding the file storage's folder.
    #[cfg(unix)]
    Server(crate::commands::remote::Client),
}

impl Route {
    /// Opens the storage `settings` name; when a server holds the file
    /// storage's folder, reaches that server instead, waiting up to
    /// `ADMIN_SOCKET_TIMEOUT` for it to answer (a server answers once it
    /// has loaded the folder).
    ///
    /// # Errors
    /// [`CommandError::Unanswered`] when a server holds the folder and does
    /// not answer; why the storage could not be opened.
    pub async fn open(settings: &ServeArgs) -> Result<Self, CommandError> {
        #[cfg(unix)]
        let deadline = tokio::time::Instant::now()
            + std::time::Duration::from_secs(settings.storage.admin_socket_timeout.into());
        loop {
            let locked = match open_storage(&settings.storage).await {
                Ok(storage) => {
                    let use_cases = Box::new(operator_use_cases(settings, &storage));
                    return Ok(Self::Here { storage, use_cases });
                }
                Err(StartError::File(locked @ adapter_file::OpenError::Locked { .. })) => locked,
                Err(error) => return Err(error.into()),
            };
            #[cfg(not(unix))]
            return Err(CommandError::InUse(format!(
                "{locked}: stop the server first"
            )));
            #[cfg(unix)]
            {
                use crate::commands::remote::Client;
                let socket = Client::socket_of(&settings.storage);
                match Client::reach(&settings.storage).await {
                    Ok(client) => return Ok(Self::Server(client)),
                    // Starting (still loading the folder) or stopping: the
                    // next round finds it answering, or the folder free.
                    Err(_) if tokio::time::Instant::now() < deadline => {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                    Err(cause) => {
                        return Err(CommandError::Unanswered {
                            locked: locked.to_string(),
                            socket: socket.display().to_string(),
                            cause: cause.to_string(),
                        });
                    }
                }
            }
        }
    }

    /// Carries out `operation` there; what to print.
    ///
    /// # Errors
    /// [`CommandError`] saying what was wrong.
    pub async fn perform(&self, operation: Operation) -> Result<String, CommandError> {
        match self {
            Self::Here { use_cases, .. } => operation.perform(use_cases).await,
            #[cfg(unix)]
            Self::Server(client) => client.perform(&operation).await,
        }
    }

    /// Ends the command: after a change here, closes the storage, so a
    /// file store leaves plain Flask files behind (its journal compacted)
    /// as the server does at shutdown. A read leaves the folder as it was.
    pub async fn finish(self, changed: bool) {
        if let Self::Here { storage, .. } = self
            && changed
        {
            storage.close().await;
        }
    }

    /// [`Route::open`], one operation, [`Route::finish`].
    ///
    /// # Errors
    /// As [`Route::open`] and [`Route::perform`].
    pub async fn run(settings: &ServeArgs, operation: Operation) -> Result<String, CommandError> {
        let route = Self::open(settings).await?;
        let changes = operation.changes();
        let outcome = route.perform(operation).await;
        route.finish(changes).await;
        outcome
    }
}
