//! The Kafka side: an idempotent producer (acks=all) and the topics.

use std::time::{Duration, Instant};

use anyhow::bail;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::config::Config;
use crate::event::EVENT_TYPES;
use crate::outbox::Row;

/// Every client (producer, admin, reconciling consumer) connects alike:
/// bootstrap servers and, for a secured cluster, TLS and SASL.
pub fn client_config(cfg: &Config) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &cfg.kafka_brokers)
        .set("broker.address.family", "v4")
        .set("security.protocol", &cfg.kafka_security_protocol);
    let optional = [
        ("ssl.ca.location", &cfg.kafka_ssl_ca_location),
        ("sasl.mechanism", &cfg.kafka_sasl_mechanism),
        ("sasl.username", &cfg.kafka_sasl_username),
        ("sasl.password", &cfg.kafka_sasl_password),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            c.set(key, v);
        }
    }
    c
}

/// Idempotence implies acks=all, retries and ordering within a partition.
pub fn producer(cfg: &Config) -> anyhow::Result<FutureProducer> {
    Ok(client_config(cfg)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", "15000")
        .set("linger.ms", "5")
        .create()?)
}

/// The record for one outbox row: topic = event type, key = order id, the
/// event as the value and `event_id` as a header (consumers dedupe on it).
pub fn record(row: &Row) -> FutureRecord<'_, str, str> {
    FutureRecord::to(&row.event_type)
        .key(row.key.as_str())
        .payload(row.payload.as_str())
        .headers(OwnedHeaders::new().insert(Header {
            key: "event_id",
            value: Some(row.event_id.as_str()),
        }))
}

/// Creates the event topics unless they exist.
pub async fn create_topics(cfg: &Config) -> anyhow::Result<()> {
    create_named_topics(cfg, EVENT_TYPES).await
}

/// Creates `names` unless they exist, with the configured partitions and replication.
pub async fn create_named_topics(cfg: &Config, names: &[&str]) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = client_config(cfg).create()?;
    let min_insync =
        min_insync_replicas(cfg.topic_replication, cfg.topic_min_insync_replicas).to_string();
    let topics = new_topics(cfg, names, &min_insync);
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics(&topics, &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => bail!("creating topic {topic}: {code}"),
        }
    }
    Ok(())
}

/// The topics to create: partitions, replication and `min.insync.replicas`.
pub fn new_topics<'a>(cfg: &Config, names: &[&'a str], min_insync: &'a str) -> Vec<NewTopic<'a>> {
    names
        .iter()
        .map(|t| {
            NewTopic::new(
                t,
                cfg.topic_partitions,
                TopicReplication::Fixed(cfg.topic_replication),
            )
            .set("min.insync.replicas", min_insync)
        })
        .collect()
}

/// The `event_id`s of (at least) the last `depth` messages of every partition
/// of the event topics (blocking: run it off the async threads).
///
/// It reads from `high watermark - depth` until the partitions fall quiet
/// rather than stopping at the watermark: tansu 0.6 reports the base offset of
/// the last record batch as the high watermark, so the last batch — the one a
/// killed predecessor was producing — lies beyond it.
pub fn recent_event_ids(cfg: &Config, depth: i64) -> anyhow::Result<Vec<String>> {
    let consumer: BaseConsumer = client_config(cfg)
        .set("group.id", "relay-reconcile")
        .set("enable.auto.commit", "false")
        .create()?;
    let timeout = Duration::from_secs(10);
    let metadata = consumer.fetch_metadata(None, timeout)?;
    let mut tails = TopicPartitionList::new();
    for topic in metadata
        .topics()
        .iter()
        .filter(|t| EVENT_TYPES.contains(&t.name()))
    {
        for partition in topic.partitions() {
            let (low, high) = consumer.fetch_watermarks(topic.name(), partition.id(), timeout)?;
            tracing::debug!(
                topic = topic.name(),
                partition = partition.id(),
                low,
                high,
                "partition tail"
            );
            let from = Offset::Offset((high - depth).max(low));
            tails.add_partition_offset(topic.name(), partition.id(), from)?;
        }
    }
    let mut ids = Vec::new();
    if tails.count() == 0 {
        return Ok(ids);
    }
    consumer.assign(&tails)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last_message = Instant::now();
    while last_message.elapsed() < RECONCILE_QUIET {
        if Instant::now() > deadline {
            bail!("the partitions' tails did not fall quiet");
        }
        let Some(message) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let message = message?;
        last_message = Instant::now();
        if let Some(id) = message
            .headers()
            .and_then(|h| h.iter().find(|h| h.key == "event_id"))
            .and_then(|h| h.value)
            .and_then(own_event_id)
        {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The event id of one of our messages: a UUID. Another producer's message
/// in the topic (any other `event_id`) is not ours and is skipped — it must
/// never make reconciliation fail for every leader.
pub fn own_event_id(header: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(header).ok()?;
    uuid::Uuid::parse_str(text).ok().map(|u| u.to_string())
}

/// `min.insync.replicas` for topics of `replication` copies: one fewer, at
/// least 1, unless set — so `acks=all` means more than the leader alone
/// wherever there are replicas to wait for.
pub fn min_insync_replicas(replication: i32, configured: Option<i32>) -> i32 {
    configured.unwrap_or(replication - 1).max(1)
}

/// How long the tails must stay silent before reconciliation trusts it has
/// read them to the end.
const RECONCILE_QUIET: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn foreign_event_ids_are_skipped() {
        let ours = "6a1f6c2e-5a34-4e57-9c1e-0f5d7b8a9c10";
        assert_eq!(own_event_id(ours.as_bytes()).as_deref(), Some(ours));
        for foreign in [&b"order-42"[..], b"", b"\xff\xfe", b"6a1f6c2e"] {
            assert_eq!(own_event_id(foreign), None);
        }
    }

    /// Debian's CA bundle (any readable PEM file serves).
    const CA: &str = "/etc/ssl/certs/ca-certificates.crt";

    #[test]
    fn a_secured_cluster_gets_tls_and_sasl() {
        let cfg = Config::parse_from([
            "relay",
            "--database-url",
            "postgres://x",
            "--kafka-security-protocol",
            "sasl_ssl",
            "--kafka-sasl-mechanism",
            "SCRAM-SHA-512",
            "--kafka-sasl-username",
            "relay",
            "--kafka-sasl-password",
            "s3cret",
            "--kafka-ssl-ca-location",
            CA,
        ]);
        let c = client_config(&cfg);
        assert_eq!(c.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(c.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(c.get("sasl.username"), Some("relay"));
        assert_eq!(c.get("ssl.ca.location"), Some(CA));
        // librdkafka accepts the settings: it was built with TLS and SCRAM.
        if std::path::Path::new(CA).exists() {
            if let Err(e) = c.create::<rdkafka::producer::BaseProducer>() {
                panic!("librdkafka refused the secured config: {e}");
            }
        }
        let plain = client_config(&Config::parse_from(["relay", "--database-url", "x"]));
        assert_eq!(plain.get("security.protocol"), Some("plaintext"));
        assert_eq!(plain.get("sasl.password"), None);
        assert!(Config::try_parse_from([
            "relay",
            "--database-url",
            "x",
            "--kafka-security-protocol",
            "tls"
        ])
        .is_err());
    }

    #[test]
    fn acks_all_waits_for_more_than_the_leader() {
        assert_eq!(min_insync_replicas(1, None), 1);
        assert_eq!(min_insync_replicas(3, None), 2);
        assert_eq!(min_insync_replicas(3, Some(3)), 3);
        assert_eq!(min_insync_replicas(3, Some(0)), 1);
        let cfg = Config::parse_from([
            "relay",
            "--database-url",
            "postgres://x",
            "--topic-replication",
            "3",
        ]);
        let topics = new_topics(&cfg, EVENT_TYPES, "2");
        assert_eq!(topics.len(), EVENT_TYPES.len());
        for t in &topics {
            assert_eq!(t.config, vec![("min.insync.replicas", "2")]);
        }
    }
}
