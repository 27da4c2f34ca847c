//! The decoy hash a login with an unknown email is verified against.

/// An Argon2id hash with the OWASP parameters (those of every new hash) of
/// 32 random bytes that were thrown away: no password is known to match it.
/// A login with an unknown email is verified against it, so it costs what
/// a wrong password costs. A test checks that its parameters are those of
/// [`Argon2Hasher::hash`](crate::Argon2Hasher).
pub const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$97OSGtnCZTtbcL0F21S2XQ$sizyDtmvGGZnLqIR2nysX+nyI3DN0sLbx6BV+NCITW8";
