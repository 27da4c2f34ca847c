//! One Argon2id hash or verification, computed in the memory area its
//! worker keeps for every job.

use argon2::password_hash::{Output, ParamsString, PasswordHash as PhcString, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use domain::{HashError, Password, PasswordHash};

use crate::params::{MAX_VERIFY_MEMORY_KIB, OWASP_BLOCKS};

/// `count` blocks of the worker's own memory, grown once to the size its
/// parameters need.
fn blocks(memory: &mut Vec<Block>, count: usize) -> &mut [Block] {
    if memory.len() < count {
        memory.resize(count, Block::default());
    }
    &mut memory[..count]
}

pub(crate) fn failed(error: impl std::fmt::Display) -> HashError {
    HashError(error.to_string().into())
}

pub(crate) fn hash(
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

pub(crate) fn verify(
    password: &Password,
    phc: &str,
    memory: &mut Vec<Block>,
) -> Result<bool, HashError> {
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
