//! The password-hashing worker threads: the jobs they take, each one's
//! life, and their lowered scheduling priority.

use argon2::{Block, Params};
use std::sync::{Mutex, PoisonError};
use tokio::sync::{mpsc, oneshot};

use domain::{HashError, Password, PasswordHash};

use crate::argon2id::{hash, verify};

/// What a worker is asked to do.
pub(crate) enum Work {
    Hash(Password),
    Verify(Password, String),
}

/// What a worker answers.
pub(crate) enum Outcome {
    Hashed(PasswordHash),
    Verified(bool),
}

pub(crate) struct Job {
    pub(crate) work: Work,
    pub(crate) reply: oneshot::Sender<Result<Outcome, HashError>>,
}

/// Raises the calling thread's nice value by `niceness` (at most 19).
/// On Linux a nice value belongs to a thread, so this touches only the
/// worker that calls it.
#[cfg(unix)]
pub(crate) fn lower_priority(niceness: u8) {
    use rustix::process::{getpriority_process, setpriority_process};
    if niceness == 0 {
        return;
    }
    let current = getpriority_process(None).unwrap_or(0);
    let target = (current + i32::from(niceness.min(19))).min(19);
    // Failure leaves the worker at the process's priority: slower to
    // yield, never wrong.
    let _ = setpriority_process(None, target);
}

#[cfg(not(unix))]
pub(crate) fn lower_priority(_niceness: u8) {}

/// A worker's life: take the next job, answer it, until every sender is
/// gone. The memory area lives as long as the worker.
pub(crate) fn work(jobs: &Mutex<mpsc::Receiver<Job>>, params: &Params) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let next = jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .blocking_recv();
        let Some(Job { work, reply }) = next else {
            return;
        };
        let outcome = match work {
            Work::Hash(password) => hash(params, &password, &mut memory).map(Outcome::Hashed),
            Work::Verify(password, phc) => {
                verify(&password, &phc, &mut memory).map(Outcome::Verified)
            }
        };
        // The caller may have gone (its request was cancelled): nothing to do.
        let _ = reply.send(outcome);
    }
}
