//! `relay`: outbox → Kafka, and unacknowledged events back to Redis.
//! `KAFKA_BROKERS=off` (or empty) runs the Redis redelivery alone.

use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cfg = relay::config::Config::parse();
    let mut term = signal(SignalKind::terminate())?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    relay::relay::run(cfg, shutdown).await?;
    tracing::info!("relay stopped");
    Ok(())
}
