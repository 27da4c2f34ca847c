//! Peers for `bench/request_path.sh`: servers that do the least poem
//! allows for the routes session-auth is measured on, so that a run can
//! print session-auth's cost as a ratio to them, side by side on the same
//! machine. `bare_poem` answers `GET /api/v1/status`; `poem_sessions`
//! answers `GET /api/v1/users/me` by parsing the session cookie, looking the
//! session up in a `HashMap` and answering its user as JSON. Both listen on
//! `127.0.0.1:$PORT` (default 5078).

use std::net::SocketAddr;

/// The address a peer listens on: loopback, port `$PORT` or 5078.
#[must_use]
pub fn listen_address() -> SocketAddr {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(5078);
    SocketAddr::from(([127, 0, 0, 1], port))
}
