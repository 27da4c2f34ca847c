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
/// Each hash runs on tokio's blocking pool, and at most `concurrency` run at
/// once: a burst of logins queues here instead of occupying every blocking
/// thread and every core, so other requests keep being served.
#[derive(Clone)]
pub struct Argon2Hasher {
    params: Params,
    permits: Arc<Semaphore>,
}

impl Argon2Hasher {
    /// A hasher with the OWASP parameters, running at most `concurrency`
    /// hashes at once (at least one).
    pub fn new(concurrency: usize) -> Self {
        // The constants are valid Argon2 parameters, so this cannot fail.
        let params = Params::new(OWASP_MEMORY_KIB, OWASP_ITERATIONS, OWASP_PARALLELISM, None)
            .unwrap_or_else(|_| Params::default());
        Self {
            params,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
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
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| HashError(Box::new(e)))?
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
