//! The Kafka side: an idempotent producer (acks=all) and the topics.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::bail;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::Headers;
use rdkafka::producer::FutureProducer;
use rdkafka::ClientConfig;
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::config::Config;
use crate::event::EVENT_TYPES;

fn client_config(cfg: &Config) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &cfg.kafka_brokers)
        .set("broker.address.family", "v4");
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

/// Creates the event topics unless they exist.
pub async fn create_topics(cfg: &Config) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = client_config(cfg).create()?;
    let topics: Vec<NewTopic> = EVENT_TYPES
        .iter()
        .map(|t| {
            NewTopic::new(
                t,
                cfg.topic_partitions,
                TopicReplication::Fixed(cfg.topic_replication),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics(&topics, &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => bail!("creating topic {topic}: {code}"),
        }
    }
    Ok(())
}

/// The `event_id`s of the last `depth` messages of every partition of the
/// event topics (blocking: run it off the async threads).
pub fn recent_event_ids(cfg: &Config, depth: i64) -> anyhow::Result<Vec<String>> {
    let consumer: BaseConsumer = client_config(cfg)
        .set("group.id", "relay-reconcile")
        .set("enable.auto.commit", "false")
        .create()?;
    let timeout = Duration::from_secs(10);
    let metadata = consumer.fetch_metadata(None, timeout)?;
    let mut tails = TopicPartitionList::new();
    let mut ends: HashMap<(String, i32), i64> = HashMap::new();
    for topic in metadata
        .topics()
        .iter()
        .filter(|t| EVENT_TYPES.contains(&t.name()))
    {
        for partition in topic.partitions() {
            let (low, high) = consumer.fetch_watermarks(topic.name(), partition.id(), timeout)?;
            if high > low {
                let from = Offset::Offset((high - depth).max(low));
                tails.add_partition_offset(topic.name(), partition.id(), from)?;
                ends.insert((topic.name().to_string(), partition.id()), high);
            }
        }
    }
    let mut ids = Vec::new();
    if ends.is_empty() {
        return Ok(ids);
    }
    consumer.assign(&tails)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ends.is_empty() {
        if Instant::now() > deadline {
            bail!("could not read the tails of {} partitions", ends.len());
        }
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message?;
        if let Some(id) = message
            .headers()
            .and_then(|h| h.iter().find(|h| h.key == "event_id"))
            .and_then(|h| h.value)
            .and_then(|v| std::str::from_utf8(v).ok())
        {
            ids.push(id.to_string());
        }
        let key = (message.topic().to_string(), message.partition());
        if ends
            .get(&key)
            .is_some_and(|end| message.offset() + 1 >= *end)
        {
            ends.remove(&key);
        }
    }
    Ok(ids)
}
