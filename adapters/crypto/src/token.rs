//! Session tokens from the operating system's CSPRNG.

use domain::{SessionToken, TokenGenerator};

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
