//! The Argon2id parameters: OWASP's for every new hash, and the most
//! memory a stored hash may ask for to be verified.

/// OWASP's recommended Argon2id parameters: 19 MiB of memory, two passes,
/// one lane.
pub const OWASP_MEMORY_KIB: u32 = 19_456;
/// Passes over memory.
pub const OWASP_ITERATIONS: u32 = 2;
/// Degree of parallelism.
pub const OWASP_PARALLELISM: u32 = 1;

/// Blocks of the OWASP parameters (one block is 1 KiB).
pub(crate) const OWASP_BLOCKS: usize = OWASP_MEMORY_KIB as usize;

/// The most memory one verification may take (a stored hash with a larger
/// `m` is refused rather than allowed to allocate without bound).
pub(crate) const MAX_VERIFY_MEMORY_KIB: u32 = 256 * 1024;
