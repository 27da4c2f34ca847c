//! The Argon2 limit of this machine: how many login password checks per
//! second the hasher the server uses can do, with as many at once as the
//! server allows (one per core). `bench/file-100k.sh` prints it next to
//! the measured login rate.
//!
//! `cargo run --release -p adapter-crypto --example argon2_rate [SECONDS]`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use adapter_crypto::Argon2Hasher;
use domain::{Password, PasswordHasher};

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let hasher = Arc::new(Argon2Hasher::per_core(0));
    let password = Password::parse("bench-password").expect("a valid password");
    let hash = hasher.hash(&password).await.expect("hashing works");
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (hasher, password, hash, done) =
                (hasher.clone(), password.clone(), hash.clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    assert!(hasher.verify(&password, &hash).await.expect("verifies"));
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker finished");
    }
    let rate = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    println!("argon2_verifications_per_second {rate:.1}");
}
