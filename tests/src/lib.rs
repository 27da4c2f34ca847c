//! Black-box and cross-adapter tests of session-auth, and the suites they
//! share: [`storage_contract`] is the contract every storage adapter passes.

pub mod http_harness;
pub mod postgres_template;
pub mod quick_hasher;
pub mod recovery_contract;
pub mod sql_database;
pub mod storage_contract;
pub mod tcp_proxy;
pub mod wire;
