//! Black-box and cross-adapter tests of session-auth, and the suites they
//! share: [`storage_contract`] is the contract every storage adapter passes.

pub mod storage_contract;
