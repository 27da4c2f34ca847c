//! The hashing workers run at the lower priority they were given (their
//! own test binary, so that every `argon2-*` thread here is this test's).
#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

use adapter_crypto::Argon2Hasher;
use domain::{Password, PasswordHasher};

/// The nice value of every thread of this process named `argon2-…`.
/// (A thread that ends while it is read is left out.)
fn argon2_thread_nice_values() -> Vec<i64> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut values = Vec::new();
    for path in tasks.flatten().map(|task| task.path()) {
        let Ok(comm) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        if !comm.starts_with("argon2-") {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
            continue;
        };
        // Fields after the parenthesised name; nice is field 19 overall.
        let nice = stat
            .rfind(')')
            .and_then(|end| stat.get(end + 2..))
            .and_then(|rest| rest.split(' ').nth(16))
            .and_then(|field| field.parse::<i64>().ok());
        values.extend(nice);
    }
    values
}

#[tokio::test]
async fn niced_workers_run_at_the_lower_priority_and_still_hash() {
    let base = rustix::process::getpriority_process(None).unwrap();
    let hasher = Argon2Hasher::niced(2, 4, 7);
    let password = Password::parse("correct horse").unwrap();
    let hash = hasher.hash(&password).await.unwrap();
    assert!(hasher.verify(&password, &hash).await.unwrap());

    // Each worker lowers its priority before its first job; one may not
    // have got there yet.
    let expected = i64::from((base + 7).min(19));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = argon2_thread_nice_values();
    while seen != [expected, expected] && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        seen = argon2_thread_nice_values();
    }
    assert_eq!(seen, vec![expected, expected]);
    // The thread that runs the test (like the async runtime's) keeps the
    // process's priority.
    assert_eq!(rustix::process::getpriority_process(None).unwrap(), base);
}
