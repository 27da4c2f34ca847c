//! The HTTP service through the real router, in process, on every storage:
//! one test binary, so that the crate's dependencies are linked once for
//! all of these suites. Add a suite as a module here, not as a new file
//! under `tests/tests/` (each such file is another binary to link).

mod http_additions;
mod http_authorization;
mod http_contract;
mod http_flask_files;
mod http_hostile_input;
mod http_hygiene;
mod http_password_reset;
mod http_security;
mod http_sessions;
