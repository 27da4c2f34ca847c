//! The cryptographic and time adapters: Argon2id password hashing on a fixed
//! set of worker threads, the zxcvbn judgement of password strength,
//! session tokens from the OS CSPRNG, and the system clock.

use argon2::password_hash::{Output, ParamsString, PasswordHash as PhcString, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{mpsc, oneshot};

use domain::HashError;
use domain::{
    Clock, Password, PasswordHash, PasswordHasher, PasswordStrength, SessionToken, TokenGenerator,
};

/// OWASP's recommended Argon2id parameters: 19 MiB of memory, two passes,
/// one lane.
pub const OWASP_MEMORY_KIB: u32 = 19_456;
/// Passes over memory.
pub const OWASP_ITERATIONS: u32 = 2;
/// Degree of parallelism.
pub const OWASP_PARALLELISM: u32 = 1;

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

/// What a worker is asked to do.
enum Work {
    Hash(Password),
    Verify(Password, String),
}

/// What a worker answers.
enum Outcome {
    Hashed(PasswordHash),
    Verified(bool),
}

struct Job {
    work: Work,
    reply: oneshot::Sender<Result<Outcome, HashError>>,
}

/// The most memory one verification may take (a stored hash with a larger
/// `m` is refused rather than allowed to allocate without bound).
const MAX_VERIFY_MEMORY_KIB: u32 = 256 * 1024;

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

/// Raises the calling thread's nice value by `niceness` (at most 19).
/// On Linux a nice value belongs to a thread, so this touches only the
/// worker that calls it.
#[cfg(unix)]
fn lower_priority(niceness: u8) {
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
fn lower_priority(_niceness: u8) {}

/// A worker's life: take the next job, answer it, until every sender is
/// gone. The memory area lives as long as the worker.
fn work(jobs: &Mutex<mpsc::Receiver<Job>>, params: &Params) {
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

/// `count` blocks of the worker's own memory, grown once to the size its
/// parameters need.
fn blocks(memory: &mut Vec<Block>, count: usize) -> &mut [Block] {
    if memory.len() < count {
        memory.resize(count, Block::default());
    }
    &mut memory[..count]
}

fn failed(error: impl std::fmt::Display) -> HashError {
    HashError(error.to_string().into())
}

fn hash(
    params: &Params,
    password: &Password,
    memory: &mut Vec<Block>,
) -> Result<PasswordHash, HashError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes).map_err(failed)?;
    let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password.expose().as_bytes(),
            salt_bytes,
            &mut output,
            blocks(memory, params.block_count()),
        )
        .map_err(failed)?;
    let phc = PhcString {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(failed)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&output).map_err(failed)?),
    };
    PasswordHash::parse(&phc.to_string()).map_err(|e| HashError(Box::new(e)))
}

fn verify(password: &Password, phc: &str, memory: &mut Vec<Block>) -> Result<bool, HashError> {
    let parsed = PhcString::new(phc).map_err(failed)?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(failed)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(failed)?
        .unwrap_or_default();
    // The parameters inside the PHC string decide the cost.
    let params = Params::try_from(&parsed).map_err(failed)?;
    if params.m_cost() > MAX_VERIFY_MEMORY_KIB {
        return Err(failed("the stored hash asks for more memory than allowed"));
    }
    let salt = parsed
        .salt
        .ok_or_else(|| failed("the stored hash has no salt"))?;
    let expected = parsed
        .hash
        .ok_or_else(|| failed("the stored hash has no output"))?;
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(failed)?;
    let mut output = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let filled = if params.block_count() <= memory.len().max(OWASP_BLOCKS) {
        argon2.hash_password_into_with_memory(
            password.expose().as_bytes(),
            salt_bytes,
            &mut output,
            blocks(memory, params.block_count()),
        )
    } else {
        // A hash stronger than ours: its memory is taken for this job only.
        let mut own = vec![Block::default(); params.block_count()];
        argon2.hash_password_into_with_memory(
            password.expose().as_bytes(),
            salt_bytes,
            &mut output,
            &mut own,
        )
    };
    filled.map_err(failed)?;
    // `Output`'s equality is constant-time.
    Ok(Output::new(&output).map_err(failed)? == expected)
}

/// An Argon2id hash with the OWASP parameters (those of every new hash) of
/// 32 random bytes that were thrown away: no password is known to match it.
/// A login with an unknown email is verified against it, so it costs what
/// a wrong password costs. A test checks that its parameters are those of
/// [`Argon2Hasher::hash`].
pub const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$97OSGtnCZTtbcL0F21S2XQ$sizyDtmvGGZnLqIR2nysX+nyI3DN0sLbx6BV+NCITW8";

/// Blocks of the OWASP parameters (one block is 1 KiB).
const OWASP_BLOCKS: usize = OWASP_MEMORY_KIB as usize;

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

/// `PASSWORD_POLICY=strong`: a password must reach a zxcvbn score (0–4)
/// of at least `min_score`, judged offline with zxcvbn's built-in
/// dictionaries and the account's own words. A refusal gives zxcvbn's
/// warning and suggestions, which never quote the password.
#[derive(Clone, Copy, Debug)]
pub struct ZxcvbnStrength {
    /// The lowest accepted score: 3 is "safely unguessable: moderate
    /// protection from an offline slow-hash scenario" (about 10^10
    /// guesses).
    pub min_score: u8,
}

impl Default for ZxcvbnStrength {
    /// Score 3 or more.
    fn default() -> Self {
        Self { min_score: 3 }
    }
}

impl PasswordStrength for ZxcvbnStrength {
    fn check(&self, password: &Password, context: &[&str]) -> Result<(), String> {
        let entropy = zxcvbn::zxcvbn(password.expose(), context);
        let score = u8::from(entropy.score());
        if score >= self.min_score {
            return Ok(());
        }
        let mut reasons: Vec<String> = Vec::new();
        if let Some(feedback) = entropy.feedback() {
            reasons.extend(feedback.warning().map(|w| w.to_string()));
            reasons.extend(feedback.suggestions().iter().map(ToString::to_string));
        }
        if reasons.is_empty() {
            reasons.push("Add another word or two. Uncommon words are better.".into());
        }
        Err(format!(
            "scores {score} of 4, at least {} needed. {}",
            self.min_score,
            reasons.join(" ")
        ))
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
        let hasher = Argon2Hasher::new(1, 4);
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
        let hasher = Argon2Hasher::new(2, 4);
        let a = hasher.hash(&pw("x")).await.unwrap();
        let b = hasher.hash(&pw("x")).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn legacy_and_unusable_hashes_verify_as_the_flask_api_did() {
        let hasher = Argon2Hasher::new(1, 4);
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
        let hasher = Argon2Hasher::new(1, 4);
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

    #[tokio::test]
    async fn a_burst_larger_than_the_queue_is_served_by_the_fixed_workers() {
        let hasher = Argon2Hasher::new(2, 1);
        let burst: Vec<_> = (0..8)
            .map(|i| {
                let hasher = hasher.clone();
                tokio::spawn(async move { hasher.hash(&pw(&format!("secret {i}"))).await })
            })
            .collect();
        for task in burst {
            let hash = task.await.unwrap().unwrap();
            assert!(hash.as_stored().unwrap().starts_with("$argon2id$"));
        }
        assert_eq!(hasher.queue_depth(), 0, "every request left the queue");
    }

    #[tokio::test]
    async fn hashes_made_by_the_argon2_crate_itself_verify() {
        use argon2::password_hash::PasswordHasher as _;
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let phc = Argon2::default()
            .hash_password(b"from elsewhere", &salt)
            .unwrap()
            .to_string();
        let stored = PasswordHash::parse(&phc).unwrap();
        let hasher = Argon2Hasher::new(1, 4);
        assert!(hasher.verify(&pw("from elsewhere"), &stored).await.unwrap());
        assert!(
            !hasher
                .verify(&pw("from elsewhere!"), &stored)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn the_decoy_has_the_parameters_of_new_hashes_and_matches_no_likely_password() {
        let hasher = Argon2Hasher::new(1, 4);
        let fresh = hasher.hash(&pw("x")).await.unwrap();
        let params_of = |phc: &str| {
            let parsed = PhcString::new(phc).unwrap();
            (
                parsed.algorithm.to_string(),
                parsed.version,
                Params::try_from(&parsed).unwrap(),
                parsed.salt.unwrap().as_str().len(),
                parsed.hash.unwrap().len(),
            )
        };
        assert_eq!(
            params_of(DECOY_HASH),
            params_of(fresh.as_stored().unwrap()),
            "same algorithm, version, parameters, salt and output lengths: the same work"
        );
        let decoy = hasher.decoy();
        for guess in ["", "password", "x", DECOY_HASH] {
            if let Some(guess) = Password::parse(guess) {
                assert!(!hasher.verify(&guess, &decoy).await.unwrap());
            }
        }
    }

    #[test]
    fn weak_passwords_are_refused_with_zxcvbn_feedback_that_does_not_quote_them() {
        let strength = ZxcvbnStrength::default();
        for weak in ["qwerty123", "hunter22", "letmein1", "abc123abc"] {
            let why = strength.check(&pw(weak), &[]).unwrap_err();
            assert!(why.contains("of 4, at least 3 needed"), "{why}");
            assert!(!why.contains(weak), "{why}");
        }
        let why = strength.check(&pw("password"), &[]).unwrap_err();
        assert!(why.contains("common password"), "{why}");
        assert!(
            strength
                .check(&pw("correct horse battery staple"), &[])
                .is_ok()
        );
    }

    #[test]
    fn a_password_made_of_the_accounts_own_words_is_weaker() {
        let strength = ZxcvbnStrength::default();
        let password = pw("annabelle.lee1987");
        assert!(strength.check(&password, &[]).is_ok());
        assert!(
            strength
                .check(
                    &password,
                    &["annabelle.lee1987@example.org", "annabelle.lee1987"]
                )
                .is_err()
        );
    }

    #[test]
    fn tokens_are_unique() {
        let a = OsTokenGenerator.generate();
        let b = OsTokenGenerator.generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
    }
}
