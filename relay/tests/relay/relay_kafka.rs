//! The relay against a real Kafka-protocol broker (tansu), real Postgres and
//! real Redis. Events are read back with a real Kafka consumer.

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Parser;
use integration::{KafkaBroker, PostgresServer, RedisServer, TestDatabase};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::process::Relay;

fn start_relay(
    db: &TestDatabase,
    redis: &RedisServer,
    broker: &KafkaBroker,
    extra: &[(&str, &str)],
) -> Relay {
    crate::process::start(db, redis, &broker.bootstrap(), extra)
}

/// The event topics, created as the relay creates them, and a producer with
/// the relay's settings (to play another or a predecessor relay).
async fn topics_and_producer(
    db: &TestDatabase,
    broker: &KafkaBroker,
) -> rdkafka::producer::FutureProducer {
    let cfg = relay::config::Config::parse_from([
        "relay",
        "--database-url",
        &db.url,
        "--kafka-brokers",
        &broker.bootstrap(),
    ]);
    relay::kafka::create_topics(&cfg).await.unwrap();
    relay::kafka::producer(&cfg).unwrap()
}

/// Inserts `n` events over `keys` orders; returns their event ids in outbox order.
async fn insert_events(db: &TestDatabase, n: usize, keys: i64) -> Vec<(i64, String)> {
    let client = db.client().await;
    let rows = client
        .query(
            "INSERT INTO outbox (event_id, event_type, aggregate_id, payload) \
             SELECT gen_random_uuid(), CASE WHEN g % 2 = 0 THEN 'order.created' ELSE 'payment.updated' END, \
                    (g % $2::int8), jsonb_build_object('seq', g) \
             FROM generate_series(1, $1::int) g ORDER BY g RETURNING aggregate_id, event_id::text",
            &[&(n as i32), &keys],
        )
        .await
        .unwrap();
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

async fn wait_backlog_empty(db: &TestDatabase) {
    let client = db.client().await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let left: i64 = client
            .query_one("SELECT count(*) FROM outbox WHERE relayed_at IS NULL", &[])
            .await
            .unwrap()
            .get(0);
        if left == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{left} events never relayed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Everything on both topics: (topic, key, event_id) in partition order.
fn consume_all(broker: &KafkaBroker, expected: usize) -> Vec<(String, i64, String)> {
    consume_with(broker, expected, |m| {
        let key: i64 = std::str::from_utf8(m.key().unwrap())
            .unwrap()
            .parse()
            .unwrap();
        let event_id = m
            .headers()
            .and_then(|h| h.iter().find(|h| h.key == "event_id"))
            .and_then(|h| h.value)
            .map(|v| String::from_utf8(v.to_vec()).unwrap())
            .expect("event_id header");
        (m.topic().to_string(), key, event_id)
    })
}

/// Everything on both topics, each message read by `read`.
fn consume_with<T>(
    broker: &KafkaBroker,
    expected: usize,
    read: impl Fn(&rdkafka::message::BorrowedMessage) -> T,
) -> Vec<T> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", "relay-test-reader")
        .set("enable.auto.commit", "false")
        .set("broker.address.family", "v4")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for topic in ["order.created", "payment.updated"] {
        for p in 0..3 {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .unwrap();
        }
    }
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut quiet_since = Instant::now();
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                out.push(read(&m));
                quiet_since = Instant::now();
            }
            Some(Err(e)) => panic!("consumer error: {e}"),
            None if out.len() >= expected && quiet_since.elapsed() > Duration::from_secs(2) => {
                break
            }
            None => {}
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_reaches_kafka_once_in_order_and_bad_rows_are_skipped() {
    let db = TestDatabase::create().await;
    let redis = RedisServer::start().unwrap();
    let broker = KafkaBroker::start().unwrap();
    let mut events = insert_events(&db, 1500, 25).await;
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO outbox (event_id, event_type, aggregate_id, payload) VALUES \
             (gen_random_uuid(), 'order.deleted', 1, '{}'), \
             (gen_random_uuid(), 'order.created', 1, '[1, 2]'), \
             (gen_random_uuid(), 'order.created', 2, \
              jsonb_build_object('padding', repeat('x', 2000000)))",
        )
        .await
        .unwrap();
    events.extend(insert_events(&db, 1500, 25).await);

    let relay = start_relay(&db, &redis, &broker, &[]);
    wait_backlog_empty(&db).await;
    let seen = consume_all(&broker, events.len());

    let ids: HashSet<&String> = seen.iter().map(|(_, _, e)| e).collect();
    assert_eq!(ids.len(), seen.len(), "an event_id was produced twice");
    let missing = events.iter().filter(|(_, e)| !ids.contains(e)).count();
    assert_eq!((seen.len(), missing), (events.len(), 0));
    // A key lives in one partition of each topic: there, outbox order holds.
    let position: HashMap<&String, usize> = events
        .iter()
        .enumerate()
        .map(|(i, (_, e))| (e, i))
        .collect();
    let mut last: HashMap<(&str, i64), usize> = HashMap::new();
    for (topic, key, e) in &seen {
        let pos = position[e];
        if let Some(prev) = last.insert((topic.as_str(), *key), pos) {
            assert!(
                prev < pos,
                "key {key} on {topic}: event {pos} came after {prev}"
            );
        }
    }
    let skipped: i64 = client
        .query_one(
            "SELECT count(*) FROM outbox WHERE relay_error IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // The unknown type, the non-object payload and the event too large for
    // any broker: skipped, never blocking the rows behind them.
    assert_eq!(skipped, 3);
    assert_eq!(relay.metric("relay_skipped_total").await, 3.0);
    assert_eq!(
        relay.metric("relay_produced_total").await,
        events.len() as f64
    );
    assert_eq!(relay.metric("relay_backlog").await, 0.0);
    drop(relay.child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_produce_each_event_once() {
    let db = TestDatabase::create().await;
    let redis = RedisServer::start().unwrap();
    let broker = KafkaBroker::start().unwrap();
    let first = start_relay(&db, &redis, &broker, &[]);
    let second = start_relay(&db, &redis, &broker, &[]);
    let events = insert_events(&db, 1000, 10).await;
    wait_backlog_empty(&db).await;
    let seen = consume_all(&broker, events.len());
    let ids: HashSet<&String> = seen.iter().map(|(_, _, e)| e).collect();
    assert_eq!(
        (seen.len(), ids.len()),
        (events.len(), events.len()),
        "no event twice, none missing"
    );
    let leaders = first.metric("relay_leader").await + second.metric("relay_leader").await;
    assert_eq!(leaders, 1.0, "exactly one replica leads");
}

/// The relay is woken by an event's Redis publication, which the services
/// send after each commit, not by a poll: with a one-minute poll, an event
/// committed without a publication waits; the publication sends it at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_event_wakes_the_relay_before_its_poll() {
    let db = TestDatabase::create().await;
    let redis = RedisServer::start().unwrap();
    let broker = KafkaBroker::start().unwrap();
    let _relay = start_relay(&db, &redis, &broker, &[("RELAY_POLL_MS", "60000")]);
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut publish = async || {
        redis::cmd("PUBLISH")
            .arg("payment.updated")
            .arg("{}")
            .query_async::<i64>(&mut conn)
            .await
            .unwrap()
    };
    insert_events(&db, 1, 1).await;
    publish().await;
    wait_marked(&db, 1).await;
    // Let the relay settle into its idle wait.
    tokio::time::sleep(Duration::from_millis(500)).await;

    insert_events(&db, 1, 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        marked_ids(&db).await.len(),
        1,
        "committed without a publication: nothing woke the relay"
    );
    let published = Instant::now();
    assert_eq!(publish().await, 1, "the relay is subscribed");
    wait_marked(&db, 2).await;
    assert!(
        published.elapsed() < Duration::from_secs(10),
        "the publication woke it, long before the poll ({:?})",
        published.elapsed()
    );
}

/// An event nobody acknowledges is re-published at the cap for as long as
/// it stays so — a worker that crash-loops for hours still gets it when it
/// is back — and its age is on /metrics for an alert; an acknowledged one
/// is never re-published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacknowledged_events_are_republished_until_acknowledged() {
    let db = TestDatabase::create().await;
    let redis = RedisServer::start().unwrap();
    let broker = KafkaBroker::start().unwrap();
    let mut subscriber = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let mut pubsub = subscriber.as_pubsub();
    pubsub.subscribe("order.created").unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let relay = start_relay(
        &db,
        &redis,
        &broker,
        &[
            ("RELAY_REDELIVER_AFTER_SECS", "1"),
            ("RELAY_REDELIVER_MAX_DELAY_SECS", "1"),
        ],
    );
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO outbox (event_id, event_type, aggregate_id, payload) VALUES \
             (gen_random_uuid(), 'order.created', 7, '{\"order_id\": 7}'), \
             (gen_random_uuid(), 'order.created', 8, '{\"order_id\": 8}')",
        )
        .await
        .unwrap();
    // The consumer of order 8 acknowledges; order 7's does not, for longer
    // than the old bound of 8 re-publications would have lasted here.
    client
        .batch_execute(
            "UPDATE outbox SET consumed_at = now() AT TIME ZONE 'UTC' WHERE aggregate_id = 8",
        )
        .await
        .unwrap();
    let mut payloads = Vec::new();
    for _ in 0..10 {
        let msg = pubsub.get_message().expect("a re-publication");
        payloads.push(msg.get_payload::<String>().unwrap());
    }
    assert!(
        payloads.iter().all(|p| p.contains("\"order_id\": 7")),
        "{payloads:?}"
    );
    // The 10th re-publication is marked just after it is sent.
    let row = client
        .query_one(
            "SELECT publish_attempts, gave_up_at IS NULL FROM outbox WHERE aggregate_id = 7",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, i32>(0) >= 9, "{row:?}");
    assert!(row.get::<_, bool>(1), "never given up");
    assert!(relay.metric("relay_redelivered_total").await >= 9.0);
    assert!(relay.metric("relay_oldest_unacknowledged_seconds").await >= 5.0);
    assert_eq!(
        relay
            .metric(r#"relay_unacknowledged{type="order.created"}"#)
            .await,
        1.0
    );
    // Acknowledged at last: no more re-publications, nothing unacknowledged.
    client
        .batch_execute(
            "UPDATE outbox SET consumed_at = now() AT TIME ZONE 'UTC' WHERE aggregate_id = 7",
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while relay
        .metric(r#"relay_unacknowledged{type="order.created"}"#)
        .await
        != 0.0
    {
        assert!(Instant::now() < deadline, "the gauge never went to 0");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        relay.metric("relay_oldest_unacknowledged_seconds").await,
        0.0
    );
    let acked: i32 = client
        .query_one(
            "SELECT publish_attempts FROM outbox WHERE aggregate_id = 8",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(acked, 0, "an acknowledged event is never re-published");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_mid_batch_loses_nothing() {
    let db = TestDatabase::create().await;
    let redis = RedisServer::start().unwrap();
    let broker = KafkaBroker::start().unwrap();
    let events = insert_events(&db, 5000, 20).await;
    let batch = [("RELAY_BATCH_SIZE", "100")];
    let relay = start_relay(&db, &redis, &broker, &batch);
    wait_marked(&db, 1000).await;
    drop(relay); // SIGKILL, mid-run
    let marked_before = marked_ids(&db).await.len();
    assert!(marked_before < 5000, "killed before the end");
    let relay = start_relay(&db, &redis, &broker, &batch);
    wait_backlog_empty(&db).await;
    let reconciled = relay.metric("relay_reconciled_total").await;
    let seen = consume_all(&broker, events.len());
    let count = counts(&seen);
    let (missing, duplicated) = missing_and_duplicated(events.iter().map(|(_, e)| e), &count);
    let position: HashMap<&String, usize> = events
        .iter()
        .enumerate()
        .map(|(i, (_, e))| (e, i))
        .collect();
    let dup_positions: Vec<usize> = count
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(e, _)| position[e])
        .collect();
    println!(
        "kill -9: events {}, marked before the kill {marked_before}, reconciled {reconciled}, \
         missing {missing}, duplicated {duplicated} (outbox positions {:?}..{:?})",
        events.len(),
        dup_positions.iter().min(),
        dup_positions.iter().max(),
    );
    assert_eq!(missing, 0);
    // At least once. The new leader marks what its predecessor produced but
    // never marked (found at the partitions' tails), so at most one batch —
    // in practice almost always none — comes twice.
    assert!(duplicated <= 100, "{duplicated} duplicates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivery_waits_for_redis_to_come_back() {
    let db = TestDatabase::create().await;
    let mut redis = RedisServer::start().unwrap();
    let broker = KafkaBroker::start().unwrap();
    redis.stop();
    let relay = start_relay(
        &db,
        &redis,
        &broker,
        &[
            ("RELAY_REDELIVER_AFTER_SECS", "1"),
            ("RELAY_REDELIVER_MAX_DELAY_SECS", "1"),
        ],
    );
    insert_events(&db, 1, 1).await;
    wait_backlog_empty(&db).await; // Kafka is unaffected by Redis being away
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(relay.metric("relay_errors_total").await >= 1.0);
    assert_eq!(relay.metric("relay_redelivered_total").await, 0.0);
    redis.resume().unwrap();
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let mut pubsub = conn.as_pubsub();
    pubsub
        .subscribe(&["order.created", "payment.updated"])
        .unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let msg = pubsub
        .get_message()
        .expect("re-published once Redis is back");
    assert!(msg.get_payload::<String>().unwrap().contains("seq"));
}

/// Event ids the relay has marked relayed.
/// Per-order order across a failure: of each order's events (outbox order),
/// the ones Kafka holds (marked) are a prefix — no event of an order got
/// there before an earlier event of the same order.
fn assert_marked_prefix_per_key(events: &[(i64, String)], marked: &HashSet<String>) {
    let mut gap_seen: HashSet<i64> = HashSet::new();
    for (key, event_id) in events {
        if marked.contains(event_id) {
            assert!(
                !gap_seen.contains(key),
                "order {key}: {event_id} reached Kafka before an earlier event of the order"
            );
        } else {
            gap_seen.insert(*key);
        }
    }
}

async fn marked_ids(db: &TestDatabase) -> HashSet<String> {
    let client = db.client().await;
    client
        .query(
            "SELECT event_id::text FROM outbox WHERE relayed_at IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn wait_marked(db: &TestDatabase, at_least: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while marked_ids(db).await.len() < at_least {
        assert!(Instant::now() < deadline, "relay made no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How often each event id was seen.
fn counts(seen: &[(String, i64, String)]) -> HashMap<&String, usize> {
    let mut count: HashMap<&String, usize> = HashMap::new();
    for (_, _, e) in seen {
        *count.entry(e).or_default() += 1;
    }
    count
}

/// (expected ids never seen, ids seen more than once).
fn missing_and_duplicated<'a>(
    expected: impl Iterator<Item = &'a String>,
    count: &HashMap<&String, usize>,
) -> (usize, usize) {
    let missing = expected.filter(|e| !count.contains_key(*e)).count();
    (missing, count.values().filter(|n| **n > 1).count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_delays_the_relay_and_loses_nothing() {
    let mut postgres = PostgresServer::start().unwrap();
    let db = TestDatabase::create_on(&postgres.url("postgres")).await;
    let redis = RedisServer::start().unwrap();
    let broker = KafkaBroker::start().unwrap();
    let events = insert_events(&db, 3000, 20).await;
    let mut relay = start_relay(&db, &redis, &broker, &[("RELAY_BATCH_SIZE", "100")]);
    wait_marked(&db, 500).await;

    postgres.stop();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        relay.child.0.try_wait().unwrap().is_none(),
        "the relay outlives the outage"
    );
    let errors = relay.metric("relay_errors_total").await;
    // Backing off (0.2 s doubling to 10 s): a handful of attempts, not a storm.
    assert!((1.0..=10.0).contains(&errors), "{errors} errors in 4 s");
    let ready = reqwest::get(format!("http://127.0.0.1:{}/readyz", relay.metrics_port))
        .await
        .unwrap()
        .status();
    assert_eq!(ready, 503, "not ready without Postgres");

    postgres.resume().unwrap();
    wait_backlog_empty(&db).await;
    let seen = consume_all(&broker, events.len());
    let count = counts(&seen);
    let (missing, duplicated) = missing_and_duplicated(events.iter().map(|(_, e)| e), &count);
    println!(
        "postgres outage: events {}, errors while down {errors}, missing {missing}, duplicated {duplicated}",
        events.len()
    );
    assert_eq!((missing, duplicated), (0, 0));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(relay.metric("relay_backlog").await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_mid_run_loses_nothing_the_relay_had_not_marked() {
    let db = TestDatabase::create().await;
    let redis = RedisServer::start().unwrap();
    let mut broker = KafkaBroker::start().unwrap();
    // 21 orders (odd): each order's events alternate between the two topics,
    // as an order's order.created and payment.updated do.
    let events = insert_events(&db, 3000, 21).await;
    let relay = start_relay(&db, &redis, &broker, &[("RELAY_BATCH_SIZE", "100")]);
    wait_marked(&db, 1000).await;

    let errors_before = relay.metric("relay_errors_total").await;
    broker.stop();
    // The batch in flight resolves only when its last delivery fails (up to
    // message.timeout.ms); its acknowledged rows are marked right after. The
    // dead broker acknowledges nothing more, so from then on `marked` is what
    // the old broker took.
    let deadline = Instant::now() + Duration::from_secs(60);
    while relay.metric("relay_errors_total").await <= errors_before {
        assert!(
            Instant::now() < deadline,
            "the in-flight batch never failed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let marked = marked_ids(&db).await;
    assert!(marked.len() < events.len(), "stopped before the end");
    assert_marked_prefix_per_key(&events, &marked);
    broker.resume().unwrap();
    wait_backlog_empty(&db).await;

    // The restarted in-memory broker lost what it held, so what the relay
    // had marked is gone; everything else must now be there exactly once.
    let expected: Vec<&String> = events
        .iter()
        .map(|(_, e)| e)
        .filter(|e| !marked.contains(*e))
        .collect();
    let seen = consume_all(&broker, expected.len());
    let count = counts(&seen);
    let (missing, duplicated) = missing_and_duplicated(expected.iter().copied(), &count);
    let remarked = count.keys().filter(|e| marked.contains(**e)).count();
    println!(
        "broker restart: events {}, marked before the restart {}, expected after {}, \
         missing {missing}, duplicated {duplicated}, marked ones produced again {remarked}",
        events.len(),
        marked.len(),
        expected.len()
    );
    assert_eq!((missing, duplicated, remarked), (0, 0, 0));
    assert!(relay.metric("relay_errors_total").await >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_batch_in_flight_and_marks_it() {
    let db = TestDatabase::create().await;
    let redis = RedisServer::start().unwrap();
    let broker = KafkaBroker::start().unwrap();
    let events = insert_events(&db, 5000, 20).await;
    let batch = [("RELAY_BATCH_SIZE", "100")];
    let mut relay = start_relay(&db, &redis, &broker, &batch);
    wait_marked(&db, 1000).await;
    let term = Command::new("kill")
        .args(["-TERM", &relay.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = relay.child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the relay did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status}");
    let marked = marked_ids(&db).await;
    assert!(marked.len() < events.len(), "stopped before the end");
    // Everything it produced, it marked: Kafka holds exactly the marked events.
    let seen = consume_all(&broker, marked.len());
    let count = counts(&seen);
    let (missing, duplicated) = missing_and_duplicated(marked.iter(), &count);
    let unmarked_in_kafka = count.keys().filter(|e| !marked.contains(**e)).count();
    println!(
        "SIGTERM: events {}, marked at exit {}, in Kafka {}, missing {missing}, duplicated {duplicated}, \
         produced but unmarked {unmarked_in_kafka}",
        events.len(),
        marked.len(),
        seen.len()
    );
    assert_eq!((missing, duplicated, unmarked_in_kafka), (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_leader_marks_events_a_dead_predecessor_produced_but_never_marked() {
    let db = TestDatabase::create().await;
    let redis = RedisServer::start().unwrap();
    let broker = KafkaBroker::start().unwrap();
    let events = insert_events(&db, 40, 4).await;
    // The predecessor: produced the first 25 (acknowledged), died before marking.
    let producer = topics_and_producer(&db, &broker).await;
    let client = db.client().await;
    let rows = relay::outbox::next_batch(&client, 25).await.unwrap();
    for row in &rows {
        producer
            .send(relay::kafka::record(row), Duration::from_secs(10))
            .await
            .expect("acknowledged");
    }
    drop(producer);

    let relay = start_relay(&db, &redis, &broker, &[("RELAY_BATCH_SIZE", "25")]);
    wait_backlog_empty(&db).await;
    let seen = consume_all(&broker, events.len());
    let count = counts(&seen);
    let (missing, duplicated) = missing_and_duplicated(events.iter().map(|(_, e)| e), &count);
    assert_eq!((missing, duplicated), (0, 0));
    assert_eq!(relay.metric("relay_reconciled_total").await, 25.0);
    assert_eq!(relay.metric("relay_produced_total").await, 15.0);
}

/// Review item: another producer's message with a non-UUID `event_id` in a
/// partition's tail made every new leader's reconciliation fail (a SQL cast
/// of the ids), so nothing was ever relayed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_message_in_the_tail_does_not_stop_the_relay() {
    use rdkafka::message::{Header, OwnedHeaders};
    use rdkafka::producer::FutureRecord;
    let db = TestDatabase::create().await;
    let redis = RedisServer::start().unwrap();
    let broker = KafkaBroker::start().unwrap();
    let producer = topics_and_producer(&db, &broker).await;
    producer
        .send(
            FutureRecord::to("order.created")
                .key("7")
                .payload("{}")
                .headers(OwnedHeaders::new().insert(Header {
                    key: "event_id",
                    value: Some("order-7-from-elsewhere"),
                })),
            Duration::from_secs(10),
        )
        .await
        .expect("acknowledged");
    drop(producer);
    let events = insert_events(&db, 10, 3).await;

    let _relay = start_relay(&db, &redis, &broker, &[]);
    wait_backlog_empty(&db).await;
    let seen = consume_all(&broker, events.len() + 1);
    let count = counts(&seen);
    let (missing, duplicated) = missing_and_duplicated(events.iter().map(|(_, e)| e), &count);
    assert_eq!((missing, duplicated), (0, 0));
}

/// Review item: redelivery read the first 500 idle rows and checked their
/// backoff in Rust, so while those 500 waited out long backoffs, rows 501+
/// were never looked at. Due-ness is decided in SQL now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_in_backoff_do_not_starve_later_events() {
    let db = TestDatabase::create().await;
    let redis = RedisServer::start().unwrap();
    let broker = KafkaBroker::start().unwrap();
    let client = db.client().await;
    // 2 000 unconsumed events, already in Kafka. The first 500 were
    // re-published recently and back off for an hour; 1 500 never were.
    client
        .batch_execute(
            "INSERT INTO outbox (event_id, event_type, aggregate_id, payload, created_at, relayed_at) \
             SELECT gen_random_uuid(), 'order.created', g, jsonb_build_object('order_id', g), \
                    (now() AT TIME ZONE 'UTC') - interval '1 minute', now() AT TIME ZONE 'UTC' \
             FROM generate_series(1, 2000) g ORDER BY g; \
             UPDATE outbox SET publish_attempts = 5, last_published_at = now() AT TIME ZONE 'UTC', \
                    next_attempt_at = (now() AT TIME ZONE 'UTC') + interval '1 hour' \
             WHERE aggregate_id <= 500;",
        )
        .await
        .unwrap();
    let relay = start_relay(
        &db,
        &redis,
        &broker,
        &[
            ("RELAY_REDELIVER_AFTER_SECS", "30"),
            ("RELAY_REDELIVER_MAX_DELAY_SECS", "3600"),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let published: i64 = client
            .query_one(
                "SELECT count(*) FROM outbox WHERE aggregate_id > 500 AND publish_attempts = 1",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if published == 1500 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {published} of the 1500 due events were re-published"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let early: i64 = client
        .query_one(
            "SELECT count(*) FROM outbox WHERE aggregate_id <= 500 AND publish_attempts <> 5",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(early, 0, "an event in backoff was re-published early");
    assert_eq!(relay.metric("relay_redelivered_total").await, 1500.0);
}

/// The saga's real events — written by `create_order` and
/// `apply_payment_notification`, not hand-made rows — read back from Kafka
/// with the fields docs/events.md promises, keyed by the order id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sagas_events_read_back_from_kafka_as_documented() {
    let db = TestDatabase::create().await;
    let redis = RedisServer::start().unwrap();
    let broker = KafkaBroker::start().unwrap();
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO users (full_name, email) VALUES ('Ayu', 'ayu@example.com'); \
             INSERT INTO products (name, price, stock) VALUES ('Kopi', 25000, 10), ('Teh', 10000, 5)",
        )
        .await
        .unwrap();
    let order: i64 = client
        .query_one(
            "SELECT order_id FROM create_order(1, ARRAY[1, 2]::bigint[], ARRAY[2, 1], NULL, '1x2,2x1') LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    client
        .query_one("SELECT ensure_payment($1)", &[&order])
        .await
        .unwrap();
    let gateway_id: String = client
        .query_one(
            "SELECT gateway_order_id FROM payments WHERE order_id = $1",
            &[&order],
        )
        .await
        .unwrap()
        .get(0);
    let applied: String = client
        .query_one(
            "SELECT outcome FROM apply_payment_notification($1, 'paid', 'settlement', 'accept', \
             'tx-1', 'bank_transfer', 'bca', '123', '\\x7b7d'::bytea)",
            &[&gateway_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(applied, "applied");

    let _relay = start_relay(&db, &redis, &broker, &[]);
    wait_backlog_empty(&db).await;
    let seen = consume_with(&broker, 2, |m| {
        let key: i64 = std::str::from_utf8(m.key().unwrap())
            .unwrap()
            .parse()
            .unwrap();
        let payload: serde_json::Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
        (m.topic().to_string(), key, payload)
    });
    assert_eq!(seen.len(), 2, "{seen:?}");
    let event = |topic: &str| {
        seen.iter()
            .find(|(t, ..)| t == topic)
            .unwrap_or_else(|| panic!("no {topic}"))
    };
    let (_, key, created) = event("order.created");
    assert_eq!(*key, order);
    assert_eq!(created["type"], "order.created");
    assert_eq!(created["order_id"], order);
    assert_eq!(created["user_id"], 1);
    assert_eq!(created["total_price"], 60000);
    assert_eq!(created["status"], "pending");
    assert_eq!(created["items"].as_array().unwrap().len(), 2);
    assert_eq!(created["items"][0]["price"], 25000);
    let (_, key, updated) = event("payment.updated");
    assert_eq!(*key, order);
    assert_eq!(updated["type"], "payment.updated");
    assert_eq!(updated["order_id"], order);
    assert_eq!(updated["user_id"], 1);
    assert_eq!(updated["amount"], 60000);
    assert_eq!(updated["status"], "paid");
    assert_eq!(updated["previous_status"], "pending");
    assert_eq!(updated["gateway_order_id"], gateway_id.as_str());
    assert_eq!(updated["transaction_status"], "settlement");
    for e in [created, updated] {
        let id = e["event_id"].as_str().unwrap();
        assert!(platform_core::event::is_uuid(id), "{id}");
        let at = e["occurred_at"].as_str().unwrap();
        assert!(at.ends_with('Z') && at.len() == 27, "{at}");
    }
}
