//! The loopback ceiling for `bench/ingest.sh`: an HTTP server on the same stack as Klaxon (tokio, hyper,
//! axum) that reads each request's body and answers 200 with a small JSON body, doing nothing else. What it
//! sustains is the most an HTTP service on this stack can on this machine; Klaxon's durable ingest is
//! measured against it.
//!
//! `cargo run --release -p klaxon --example ceiling -- 127.0.0.1:9000`

use axum::{Router, body::Bytes, routing::post};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9000".to_owned());
    let app = Router::new().route(
        "/{*path}",
        post(|body: Bytes| async move { format!("{{\"status\":\"ok\",\"bytes\":{}}}", body.len()) }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
