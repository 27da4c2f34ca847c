//! The bare poem peer: `GET /api/v1/status` answers `{"status": "OK"}`,
//! with nothing around the handler.

use poem::listener::TcpListener;
use poem::web::Json;
use poem::{Route, Server, get, handler};
use serde_json::{Value, json};

#[handler]
fn status() -> Json<Value> {
    Json(json!({ "status": "OK" }))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app = Route::new().at("/api/v1/status", get(status));
    Server::new(TcpListener::bind(bench_peers::listen_address()))
        .run(app)
        .await
}
