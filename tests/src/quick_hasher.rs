//! Argon2id at the smallest cost, for the tests that drive the service in
//! process: what they check (status codes, bodies, the stored hash being
//! Argon2id, a legacy hash being replaced) holds at any cost, and the
//! production cost (19 MiB, two passes: [`adapter_crypto::Argon2Hasher`])
//! made password hashing most of their running time.
//!
//! Only new hashes are cheap: every verification, the Flask API's legacy
//! SHA-256 included, is the production hasher's own (an Argon2id hash
//! carries its parameters, so a cheap hash verifies at its own cost). The
//! production parameters, and the decoy's, are tested in `adapter-crypto`
//! and, through the real binary, in `app/tests`.

use adapter_crypto::Argon2Hasher;
use argon2::password_hash::{PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use domain::{HashError, Password, PasswordHash, PasswordHasher};

/// Argon2id with 8 KiB of memory and one pass: the least Argon2 accepts.
pub struct QuickHasher {
    verifier: Argon2Hasher,
    decoy: PasswordHash,
}

impl QuickHasher {
    /// A hasher whose verifications run on the production hasher's two
    /// worker threads.
    pub fn new() -> Self {
        let decoy = quick_hash(uuid::Uuid::new_v4().simple().to_string().as_bytes())
            .unwrap_or_else(|e| panic!("cannot make the decoy hash: {e}"));
        Self {
            verifier: Argon2Hasher::new(2, 64),
            decoy,
        }
    }
}

impl Default for QuickHasher {
    fn default() -> Self {
        Self::new()
    }
}

/// A PHC string of `secret` with the least Argon2id parameters and a
/// random salt.
fn quick_hash(secret: &[u8]) -> Result<PasswordHash, HashError> {
    let failed = |e: argon2::password_hash::Error| HashError(e.to_string().into());
    let params = Params::new(Params::MIN_M_COST, Params::MIN_T_COST, 1, None)
        .map_err(|e| HashError(e.to_string().into()))?;
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes()).map_err(failed)?;
    let phc = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(secret, &salt)
        .map_err(failed)?;
    Ok(PasswordHash::Argon2id(phc.to_string()))
}

#[async_trait]
impl PasswordHasher for QuickHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        quick_hash(password.expose().as_bytes())
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError> {
        self.verifier.verify(password, hash).await
    }

    /// A cheap hash of a random secret nobody kept: as the production
    /// decoy, it matches no password.
    fn decoy(&self) -> PasswordHash {
        self.decoy.clone()
    }
}
