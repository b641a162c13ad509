//! Flags and environment (every option is documented in the README).

use std::time::Duration;

use clap::Parser;

#[derive(Debug, Clone, Parser)]
#[command(about = "Relays the outbox to Kafka and re-publishes unacknowledged events to Redis")]
pub struct Config {
    /// Postgres connection string (never logged).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// Redis for re-publishing unacknowledged events.
    #[arg(
        long,
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379",
        hide_env_values = true
    )]
    pub redis_url: String,
    /// Kafka bootstrap servers; empty or `off` turns Kafka publishing off
    /// (the relay then only re-publishes unacknowledged events to Redis).
    #[arg(long, env = "KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    pub kafka_brokers: String,
    /// librdkafka's `security.protocol`.
    #[arg(
        long,
        env = "KAFKA_SECURITY_PROTOCOL",
        default_value = "plaintext",
        value_parser = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"]
    )]
    pub kafka_security_protocol: String,
    /// CA certificate file for `ssl` / `sasl_ssl` (default: the system's).
    #[arg(long, env = "KAFKA_SSL_CA_LOCATION")]
    pub kafka_ssl_ca_location: Option<String>,
    /// SASL mechanism for `sasl_*`.
    #[arg(
        long,
        env = "KAFKA_SASL_MECHANISM",
        value_parser = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
    )]
    pub kafka_sasl_mechanism: Option<String>,
    #[arg(long, env = "KAFKA_SASL_USERNAME")]
    pub kafka_sasl_username: Option<String>,
    /// Never logged.
    #[arg(long, env = "KAFKA_SASL_PASSWORD", hide_env_values = true)]
    pub kafka_sasl_password: Option<String>,
    /// Partitions of the topics the relay creates.
    #[arg(long, env = "RELAY_TOPIC_PARTITIONS", default_value_t = 3)]
    pub topic_partitions: i32,
    /// Replication factor of the topics the relay creates.
    #[arg(long, env = "RELAY_TOPIC_REPLICATION", default_value_t = 1)]
    pub topic_replication: i32,
    /// `min.insync.replicas` of the topics it creates (default: replication − 1, at least 1).
    #[arg(long, env = "RELAY_TOPIC_MIN_INSYNC_REPLICAS")]
    pub topic_min_insync_replicas: Option<i32>,
    /// Outbox rows per batch.
    #[arg(long, env = "RELAY_BATCH_SIZE", default_value_t = 500)]
    pub batch_size: i64,
    /// Longest idle wait between outbox reads, in milliseconds. An event
    /// published on its Redis channel after the commit wakes the relay at
    /// once; this is the fallback.
    #[arg(long, env = "RELAY_POLL_MS", default_value_t = 500)]
    pub poll_ms: u64,
    /// Re-publish an event its consumer has not acknowledged after this many seconds (doubling per attempt).
    #[arg(long, env = "RELAY_REDELIVER_AFTER_SECS", default_value_t = 30)]
    pub redeliver_after_secs: u64,
    /// Longest wait between re-publications, in seconds: an event nobody
    /// acknowledges is re-published this often for as long as it stays so
    /// (never given up; its age is `relay_oldest_unacknowledged_seconds`).
    #[arg(long, env = "RELAY_REDELIVER_MAX_DELAY_SECS", default_value_t = 600)]
    pub redeliver_max_delay_secs: u64,
    /// Every this many seconds the leader publishes `maintenance.tick` on
    /// Redis (the maintenance worker's cue: expiry, reconciliation) and
    /// prunes what the retention policy no longer keeps; 0 turns both off.
    #[arg(long, env = "RELAY_MAINTENANCE_EVERY_SECS", default_value_t = 30)]
    pub maintenance_every_secs: u64,
    /// Rows per table one prune deletes at most (`prune_retained`, V12);
    /// 0 turns pruning off (the ticks go on).
    #[arg(
        long,
        env = "RELAY_PRUNE_BATCH",
        default_value_t = 1000,
        value_parser = clap::value_parser!(i32).range(0..)
    )]
    pub prune_batch: i32,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, env = "RELAY_HTTP_ADDR", default_value = "127.0.0.1:9464")]
    pub http_addr: String,
}

impl Config {
    /// The Kafka bootstrap servers, or `None` when publishing to Kafka is off.
    pub fn kafka_brokers(&self) -> Option<&str> {
        brokers(&self.kafka_brokers)
    }

    pub fn poll(&self) -> Duration {
        Duration::from_millis(self.poll_ms)
    }

    pub fn redeliver_after(&self) -> Duration {
        Duration::from_secs(self.redeliver_after_secs)
    }

    pub fn redeliver_cap(&self) -> Duration {
        Duration::from_secs(self.redeliver_max_delay_secs)
    }

    /// How often the leader ticks and prunes; `None` when that is off.
    pub fn maintenance_every(&self) -> Option<Duration> {
        (self.maintenance_every_secs > 0).then(|| Duration::from_secs(self.maintenance_every_secs))
    }
}

/// `KAFKA_BROKERS` as set: `None` for empty or `off` (any case).
fn brokers(setting: &str) -> Option<&str> {
    let setting = setting.trim();
    (!setting.is_empty() && !setting.eq_ignore_ascii_case("off")).then_some(setting)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Config {
        Config::parse_from(["relay", "--database-url", "x"].iter().chain(args))
    }

    #[test]
    fn kafka_is_off_when_brokers_are_empty_or_off() {
        assert_eq!(parse(&[]).kafka_brokers(), Some("127.0.0.1:9092"));
        assert_eq!(
            parse(&["--kafka-brokers", "a:9092,b:9092"]).kafka_brokers(),
            Some("a:9092,b:9092")
        );
        for off in ["", " ", "off", "OFF", " off "] {
            assert_eq!(
                parse(&["--kafka-brokers", off]).kafka_brokers(),
                None,
                "{off:?}"
            );
        }
    }

    #[test]
    fn maintenance_ticks_every_30_seconds_unless_turned_off() {
        let cfg = parse(&[]);
        assert_eq!(cfg.maintenance_every(), Some(Duration::from_secs(30)));
        assert_eq!(cfg.prune_batch, 1000);
        let cfg = parse(&["--maintenance-every-secs", "0", "--prune-batch", "0"]);
        assert_eq!(cfg.maintenance_every(), None);
        assert_eq!(cfg.prune_batch, 0);
        assert!(
            Config::try_parse_from(["relay", "--database-url", "x", "--prune-batch", "-1"])
                .is_err()
        );
    }
}
