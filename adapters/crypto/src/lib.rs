//! The cryptographic and time adapters: Argon2id password hashing on a fixed
//! set of worker threads, the zxcvbn judgement of password strength,
//! session tokens from the OS CSPRNG, and the system clock.

mod argon2id;
mod clock;
mod decoy;
mod hasher;
mod params;
mod strength;
mod token;
mod workers;

pub use clock::SystemClock;
pub use decoy::DECOY_HASH;
pub use hasher::Argon2Hasher;
pub use params::{OWASP_ITERATIONS, OWASP_MEMORY_KIB, OWASP_PARALLELISM};
pub use strength::ZxcvbnStrength;
pub use token::OsTokenGenerator;

#[cfg(test)]
mod tests;
