//! `relay`: outbox → Kafka, and unacknowledged events back to Redis.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use rdkafka::producer::Producer;
use relay::{config, http, kafka, metrics};
use tokio::signal::unix::{signal, SignalKind};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cfg = config::Config::parse();
    let metrics = Arc::new(metrics::Metrics::default());
    let ready = Arc::new(AtomicBool::new(false));
    tokio::spawn(http::serve(
        cfg.http_addr.clone(),
        http::Probe {
            metrics: metrics.clone(),
            ready: ready.clone(),
        },
    ));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut term = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::info!("stopping after the batch in flight");
        let _ = stop_tx.send(true);
    });
    let mut relay = relay::relay::Relay {
        producer: kafka::producer(&cfg)?,
        cfg,
        metrics,
        ready,
        redis: None,
        topics_ready: false,
        unmarked: Vec::new(),
    };
    relay.run(stop_rx).await;
    relay.producer.flush(Duration::from_secs(10))?;
    tracing::info!("relay stopped");
    Ok(())
}
