//! [`Argon2Hasher`]: the password hasher of the service, handing every
//! hash and verification to a fixed set of worker threads.

use argon2::Params;
use async_trait::async_trait;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

use domain::{HashError, Password, PasswordHash, PasswordHasher};

use crate::argon2id::failed;
use crate::decoy::DECOY_HASH;
use crate::params::{OWASP_ITERATIONS, OWASP_MEMORY_KIB, OWASP_PARALLELISM};
use crate::workers::{Job, Outcome, Work, lower_priority, work};

/// Argon2id hashing and verification (and the Flask API's legacy SHA-256).
///
/// Hashing runs on a fixed set of worker threads, never on the async
/// workers nor on tokio's blocking pool: each worker owns one Argon2 memory
/// area (19 MiB with the OWASP parameters) and reuses it for every hash, so
/// the memory hashing takes is `workers × 19 MiB` however many passwords
/// arrive. A burst queues in a bounded channel; callers beyond its capacity
/// wait for a slot (their number is bounded by the server's connection
/// limit).
///
/// The workers may run at a lower scheduling priority (a higher nice
/// value, [`Argon2Hasher::niced`]): a storm of logins then takes the CPU
/// only when nothing else wants it, so the requests that need no hashing
/// (and, on one machine, the database serving them) keep their latency.
#[derive(Clone)]
pub struct Argon2Hasher {
    jobs: mpsc::Sender<Job>,
    queued: Arc<AtomicUsize>,
}

impl Argon2Hasher {
    /// A hasher with the OWASP parameters on `workers` threads (at least
    /// one), queueing at most `queue` requests (at least one), at the
    /// process's own priority.
    ///
    /// # Panics
    /// When the operating system refuses to start a thread, at start-up.
    pub fn new(workers: usize, queue: usize) -> Self {
        Self::niced(workers, queue, 0)
    }

    /// [`Self::new`], with the worker threads' nice value raised by
    /// `niceness` (0 to 19; larger is lower priority) where the operating
    /// system has nice values (Unix). Lowering one's own priority needs no
    /// privilege; should it fail anyway, the workers run at the process's
    /// priority, which changes speed, never results.
    ///
    /// # Panics
    /// When the operating system refuses to start a thread, at start-up.
    pub fn niced(workers: usize, queue: usize, niceness: u8) -> Self {
        // The constants are valid Argon2 parameters, so this cannot fail.
        let params = Params::new(OWASP_MEMORY_KIB, OWASP_ITERATIONS, OWASP_PARALLELISM, None)
            .unwrap_or_else(|_| Params::default());
        let (jobs, receiver) = mpsc::channel(queue.max(1));
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..workers.max(1) {
            let receiver = receiver.clone();
            let params = params.clone();
            #[allow(clippy::expect_used)]
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || {
                    lower_priority(niceness);
                    work(&receiver, &params)
                })
                .expect("the operating system refused to start a password-hashing thread");
        }
        Self {
            jobs,
            queued: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// One worker per available core, and a queue of 64 per worker, with
    /// the workers' nice value raised by `niceness` ([`Self::niced`]).
    pub fn per_core(niceness: u8) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::niced(cores, cores * 64, niceness)
    }

    /// Requests waiting for or being served by a worker right now.
    pub fn queue_depth(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    async fn run(&self, work: Work) -> Result<Outcome, HashError> {
        let (reply, answer) = oneshot::channel();
        self.queued.fetch_add(1, Ordering::Relaxed);
        let outcome = async {
            self.jobs
                .send(Job { work, reply })
                .await
                .map_err(|_| HashError("the password-hashing workers have stopped".into()))?;
            answer
                .await
                .map_err(|_| HashError("a password-hashing worker stopped mid-job".into()))?
        }
        .await;
        self.queued.fetch_sub(1, Ordering::Relaxed);
        outcome
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        match self.run(Work::Hash(password.clone())).await? {
            Outcome::Hashed(hash) => Ok(hash),
            Outcome::Verified(_) => Err(failed("a hashing worker answered the wrong question")),
        }
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError> {
        match hash {
            PasswordHash::Unusable => Ok(false),
            legacy @ PasswordHash::LegacySha256(_) => {
                Ok(legacy.verify_legacy(password).unwrap_or(false))
            }
            PasswordHash::Argon2id(phc) => {
                match self
                    .run(Work::Verify(password.clone(), phc.clone()))
                    .await?
                {
                    Outcome::Verified(matched) => Ok(matched),
                    Outcome::Hashed(_) => {
                        Err(failed("a hashing worker answered the wrong question"))
                    }
                }
            }
        }
    }

    fn decoy(&self) -> PasswordHash {
        PasswordHash::Argon2id(DECOY_HASH.to_owned())
    }
}
