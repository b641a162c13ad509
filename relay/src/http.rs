//! /healthz (the process runs), /readyz (it reaches Postgres), /metrics —
//! alike with Kafka on or off (readiness never depends on Kafka).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct Probe {
    pub metrics: Arc<Metrics>,
    pub ready: Arc<AtomicBool>,
}

pub async fn serve(addr: String, probe: Probe) -> anyhow::Result<()> {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(p): State<Probe>| async move {
                if p.ready.load(Ordering::Relaxed) {
                    (StatusCode::OK, "ready")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "postgres unreachable")
                }
            }),
        )
        .route(
            "/metrics",
            get(|State(p): State<Probe>| async move { p.metrics.render() }),
        )
        .with_state(probe);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!(%addr, "relay HTTP listening");
    axum::serve(listener, app).await?;
    Ok(())
}
