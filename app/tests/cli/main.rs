//! The real `session-auth` binary, run as an operator runs it. One test
//! binary, so that the crate's dependencies are linked once for all of
//! these suites; [`support`] runs the binary and speaks HTTP to it. Add a
//! suite as a module here, not as a new file under `app/tests/` (each such
//! file is another binary to link).

mod support;

mod admin_cli;
mod cli;
mod completions;
mod config_check;
mod crash;
mod operations;
mod postgres_instances;
mod process_metrics;
mod security;
mod server_limits;
mod start_line;
mod while_serving;
