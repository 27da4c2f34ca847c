//! Prints a new decoy hash: an Argon2id hash, with the parameters of every
//! new hash, of 32 random bytes that are then thrown away. `DECOY_HASH` in
//! `src/lib.rs` was made this way; make a new one when the parameters
//! change (a test fails until then).
//!
//! `cargo run -p adapter-crypto --example decoy_hash`

use adapter_crypto::{Argon2Hasher, OsTokenGenerator};
use domain::{Password, PasswordHasher, TokenGenerator};

#[tokio::main]
async fn main() {
    let secret = OsTokenGenerator.generate();
    let Some(password) = Password::parse(secret.expose()) else {
        eprintln!("the token generator gave an empty token");
        std::process::exit(1);
    };
    match Argon2Hasher::new(1, 1).hash(&password).await {
        Ok(hash) => println!("{}", hash.as_stored().unwrap_or_default()),
        Err(error) => {
            eprintln!("cannot hash: {error}");
            std::process::exit(1);
        }
    }
}
