//! The storage adapters on their own: the storage contract suite on every
//! store, and what only the SQL storage has (its session cache and its fence, imports,
//! query plans, the service's round trips). One test binary, so that the
//! crate's dependencies are linked once for all of these suites. Add a
//! suite as a module here, not as a new file under `tests/tests/` (each
//! such file is another binary to link).

mod sql_cache;
mod sql_fence;
mod sql_import;
mod sql_plans;
mod sql_service;
mod storage_file;
mod storage_memory;
mod storage_recovery;
mod storage_sql;
