//! The poem + `HashMap` peer: `GET /api/v1/users/me` reads the
//! `_my_session_id` cookie, finds its user in a map of `$SESSIONS`
//! sessions (default 100,001, tokens `token-<i>` as in
//! `bench/flask_data.py`) and answers the user as JSON with the six keys
//! session-auth answers; 403 with `{"error": "Forbidden"}` otherwise.

use std::collections::HashMap;
use std::sync::Arc;

use poem::http::StatusCode;
use poem::listener::TcpListener;
use poem::web::{Data, Json};
use poem::{EndpointExt, IntoResponse, Request, Response, Route, Server, get, handler};
use serde::Serialize;
use serde_json::json;

/// A user as session-auth answers one.
#[derive(Clone, Serialize)]
struct User {
    id: String,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    created_at: String,
    updated_at: String,
}

type Sessions = Arc<HashMap<String, User>>;

#[handler]
fn me(req: &Request, sessions: Data<&Sessions>) -> Response {
    let user = req
        .headers()
        .get_all(poem::http::header::COOKIE)
        .iter()
        .filter_map(|header| header.to_str().ok())
        .flat_map(|header| header.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("_my_session_id="))
        .and_then(|token| sessions.get(token));
    match user {
        Some(user) => Json(user).into_response(),
        None => (StatusCode::FORBIDDEN, Json(json!({ "error": "Forbidden" }))).into_response(),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let count: usize = std::env::var("SESSIONS")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or(100_001);
    let sessions: HashMap<String, User> = (0..count)
        .map(|i| {
            let user = User {
                id: format!("00000000-0000-4000-8000-{i:012}"),
                email: format!("user{i}@bench.example"),
                first_name: None,
                last_name: None,
                created_at: "2026-12-01T00:00:00".to_owned(),
                updated_at: "2026-12-01T00:00:00".to_owned(),
            };
            (format!("token-{i}"), user)
        })
        .collect();
    let app = Route::new()
        .at("/api/v1/users/me", get(me))
        .data(Arc::new(sessions));
    Server::new(TcpListener::bind(bench_peers::listen_address()))
        .run(app)
        .await
}
