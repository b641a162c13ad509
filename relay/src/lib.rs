//! The outbox relay: outbox → Kafka, and unacknowledged events back to Redis
//! (alone, with Kafka off: `KAFKA_BROKERS` empty or `off`).
//! The `relay` binary runs it; `relay-bench` measures it.

pub mod config;
pub mod event;
pub mod http;
pub mod kafka;
pub mod maintenance;
pub mod metrics;
pub mod outbox;
pub mod relay;
pub mod wake;
pub mod waves;
