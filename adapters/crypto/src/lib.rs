//! The cryptographic and time adapters: Argon2id password hashing on the
//! blocking pool, session tokens from the OS CSPRNG, and the system clock.

use argon2::password_hash::{
    PasswordHash as PhcString, PasswordHasher as _, PasswordVerifier as _, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::Semaphore;

use domain::ports::HashError;
use domain::{Clock, Password, PasswordHash, PasswordHasher, SessionToken, TokenGenerator};

/// OWASP's recommended Argon2id parameters: 19 MiB of memory, two passes,
/// one lane.
pub const OWASP_MEMORY_KIB: u32 = 19_456;
/// Passes over memory.
pub const OWASP_ITERATIONS: u32 = 2;
/// Degree of parallelism.
pub const OWASP_PARALLELISM: u32 = 1;

/// Argon2id hashing and verification (and the Flask API's legacy SHA-256).
///
/// Each hash runs on one of `concurrency` threads of the hasher's own, and
/// at most `concurrency` run at once: a burst of logins queues here instead
/// of occupying the runtime's threads. Those threads run at a lower
/// scheduling priority (nice +10 on Linux) than the rest of the process and
/// the database: when logins saturate every core, the async workers (and a
/// local PostgreSQL) still get the CPU as soon as a request needs it, so a
/// login storm slows logins, not the other requests. With idle cores the
/// priority changes nothing.
#[derive(Clone)]
pub struct Argon2Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    threads: Option<HashingThreads>,
}

/// Work for a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// The hasher's threads; they end when the last clone of the hasher is
/// dropped (their queue closes).
#[derive(Clone)]
struct HashingThreads {
    jobs: std::sync::mpsc::Sender<Job>,
}

/// The nice value of the hashing threads: far enough below the default
/// that the scheduler gives other threads about ten times their share of a
/// contended core.
const HASHING_NICE: i32 = 10;

impl HashingThreads {
    /// `count` threads, or `None` when not one could be started (hashing
    /// then runs on tokio's blocking pool).
    fn start(count: usize) -> Option<Self> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        let mut started = 0;
        for index in 0..count {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = queue
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => break,
                        }
                    }
                });
            if spawned.is_ok() {
                started += 1;
            }
        }
        (started > 0).then_some(Self { jobs })
    }
}

/// Lowers the calling thread's scheduling priority (best effort).
#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: setpriority reads only its integer arguments. On Linux the
    // nice value is per thread and `who = 0` names the calling thread.
    // Failure (a sandbox forbidding it) leaves the default priority.
    let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, HASHING_NICE) };
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

impl Argon2Hasher {
    /// A hasher with the OWASP parameters, running at most `concurrency`
    /// hashes at once (at least one).
    pub fn new(concurrency: usize) -> Self {
        // The constants are valid Argon2 parameters, so this cannot fail.
        let params = Params::new(OWASP_MEMORY_KIB, OWASP_ITERATIONS, OWASP_PARALLELISM, None)
            .unwrap_or_else(|_| Params::default());
        let concurrency = concurrency.max(1);
        Self {
            params,
            permits: Arc::new(Semaphore::new(concurrency)),
            threads: HashingThreads::start(concurrency),
        }
    }

    /// A hasher with one concurrent hash per available core.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, usize::from))
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    async fn run_blocking<T, F>(&self, work: F) -> Result<T, HashError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, HashError> + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError(Box::new(e)))?;
        let Some(threads) = &self.threads else {
            return tokio::task::spawn_blocking(work)
                .await
                .map_err(|e| HashError(Box::new(e)))?;
        };
        let (reply, outcome) = tokio::sync::oneshot::channel();
        threads
            .jobs
            .send(Box::new(move || {
                let _ = reply.send(work());
            }))
            .map_err(|_| HashError("the hashing threads are gone".into()))?;
        outcome
            .await
            .map_err(|_| HashError("a hashing thread stopped mid-hash".into()))?
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let password = password.clone();
        let params = self.params.clone();
        self.run_blocking(move || {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            let phc = Self::argon2(params)
                .hash_password(password.expose().as_bytes(), &salt)
                .map_err(|e| HashError(e.to_string().into()))?;
            PasswordHash::parse(&phc.to_string()).map_err(|e| HashError(Box::new(e)))
        })
        .await
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError> {
        match hash {
            PasswordHash::Unusable => Ok(false),
            legacy @ PasswordHash::LegacySha256(_) => {
                Ok(legacy.verify_legacy(password).unwrap_or(false))
            }
            PasswordHash::Argon2id(phc) => {
                let password = password.clone();
                let phc = phc.clone();
                let params = self.params.clone();
                self.run_blocking(move || {
                    let parsed =
                        PhcString::new(&phc).map_err(|e| HashError(e.to_string().into()))?;
                    // The parameters inside the PHC string decide the cost;
                    // `params` only supplies defaults.
                    match Self::argon2(params)
                        .verify_password(password.expose().as_bytes(), &parsed)
                    {
                        Ok(()) => Ok(true),
                        Err(argon2::password_hash::Error::Password) => Ok(false),
                        Err(other) => Err(HashError(other.to_string().into())),
                    }
                })
                .await
            }
        }
    }
}

/// Session tokens of 256 bits from the operating system's CSPRNG.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsTokenGenerator;

impl TokenGenerator for OsTokenGenerator {
    fn generate(&self) -> SessionToken {
        let mut bytes = [0u8; 32];
        // getrandom fails only when the OS has no entropy source at all, in
        // which case no secure token can exist: stopping is the only safe
        // answer.
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut bytes)
            .expect("the operating system's random number generator is unavailable");
        SessionToken::from_random_bytes(bytes)
    }
}

/// The real clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Password {
        Password::parse(s).unwrap()
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_owasp_parameters_and_verify() {
        let hasher = Argon2Hasher::new(1);
        let hash = hasher.hash(&pw("correct horse")).await.unwrap();
        let stored = hash.as_stored().unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(hasher.verify(&pw("correct horse"), &hash).await.unwrap());
        assert!(!hasher.verify(&pw("correct horsE"), &hash).await.unwrap());
    }

    #[tokio::test]
    async fn the_same_password_hashes_differently_each_time() {
        let hasher = Argon2Hasher::new(2);
        let a = hasher.hash(&pw("x")).await.unwrap();
        let b = hasher.hash(&pw("x")).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn legacy_and_unusable_hashes_verify_as_the_flask_api_did() {
        let hasher = Argon2Hasher::new(1);
        let legacy = PasswordHash::legacy_sha256_of(&pw("pwd"));
        assert!(hasher.verify(&pw("pwd"), &legacy).await.unwrap());
        assert!(!hasher.verify(&pw("pwd2"), &legacy).await.unwrap());
        assert!(
            !hasher
                .verify(&pw("pwd"), &PasswordHash::Unusable)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_corrupt_argon2_hash_never_matches() {
        let hasher = Argon2Hasher::new(1);
        for text in [
            "$argon2id$garbage",
            "$argon2id$v=19$m=19456,t=2,p=1$%%%$%%%",
        ] {
            let corrupt = PasswordHash::parse(text).unwrap();
            assert!(
                !matches!(hasher.verify(&pw("x"), &corrupt).await, Ok(true)),
                "{text}"
            );
        }
    }

    #[test]
    fn tokens_are_unique() {
        let a = OsTokenGenerator.generate();
        let b = OsTokenGenerator.generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
    }
}
