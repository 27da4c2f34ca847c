//! The composition root of session-auth: configuration, wiring of adapters
//! to the domain, the server, and the operator commands. It is the only
//! crate that knows every adapter.

pub mod bootstrap;
pub mod commands;
pub mod config;
pub mod import;
pub mod serve;
pub mod server;
pub mod start_line;
pub mod storage;
pub mod wiring;

pub use storage::{
    DEFAULT_SQLITE_URL, StartError, Storage, connect_sql, open_storage, open_storage_serving,
};
pub use wiring::{
    Infrastructure, MailSetup, Settings, http_endpoint, http_settings, services, use_cases,
    with_metrics,
};
