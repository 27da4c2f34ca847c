//! Hashing and verification on the workers, the decoy, the strength
//! judgement and the tokens.

use argon2::password_hash::{PasswordHash as PhcString, SaltString};
use argon2::{Argon2, Params};

use domain::{Password, PasswordHash, PasswordHasher, PasswordStrength, TokenGenerator};

use crate::{Argon2Hasher, DECOY_HASH, OsTokenGenerator, ZxcvbnStrength};

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
