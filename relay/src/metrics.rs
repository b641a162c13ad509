//! The relay's Prometheus metrics.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Default)]
pub struct Metrics {
    pub produced: Counter,
    pub skipped: Counter,
    pub reconciled: Counter,
    pub redelivered: Counter,
    pub gave_up: Counter,
    pub errors: Counter,
    pub backlog: Gauge,
    pub oldest_unrelayed_secs: Gauge,
    pub leader: Gauge,
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut registry = Registry::with_prefix("relay");
        registry.register(
            "produced",
            "Events produced to Kafka and marked relayed",
            self.produced.clone(),
        );
        registry.register(
            "skipped",
            "Bad outbox rows skipped (unknown type, invalid payload)",
            self.skipped.clone(),
        );
        registry.register(
            "redelivered",
            "Events re-published to Redis",
            self.redelivered.clone(),
        );
        registry.register(
            "gave_up",
            "Events whose consumer never acknowledged them",
            self.gave_up.clone(),
        );
        registry.register(
            "errors",
            "Errors talking to Postgres, Kafka or Redis",
            self.errors.clone(),
        );
        registry.register(
            "backlog",
            "Outbox rows not relayed yet",
            self.backlog.clone(),
        );
        registry.register(
            "oldest_unrelayed_seconds",
            "Age of the oldest row not relayed yet",
            self.oldest_unrelayed_secs.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica holds the relay lock",
            self.leader.clone(),
        );
        let mut out = String::new();
        let _ = encode(&mut out, &registry);
        out
    }
}
