//! `relay-bench`: the relay's throughput and outbox→Kafka latency, printed
//! beside the raw produce rate and latency of the same client (the relay's
//! own producer settings) to the same broker. `cargo xtask bench --suite relay`
//! runs it with a migrated database of its own and a tansu broker.
//!
//! - throughput: N events already in the outbox, drained by the real `relay`
//!   binary; raw: N records sent by one producer, all acknowledged.
//! - latency: events committed one per transaction at a steady rate while the
//!   relay runs, each published on its Redis channel after the commit as the
//!   services do (that is what wakes the relay), measured from the commit (`created_at`) to the mark after
//!   Kafka's acknowledgement (`relayed_at`), both on the database's clock;
//!   raw: send → acknowledgement of records sent at the same rate.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use relay::{config::Config, kafka};
use serde_json::json;
use test_support::{free_port, wait_listening, KillOnDrop};
use tokio_postgres::{Client, NoTls};

#[derive(Parser)]
struct Args {
    /// A migrated database of the benchmark's own (its outbox is emptied).
    #[arg(long)]
    database_url: String,
    #[arg(long)]
    brokers: String,
    /// Redis, where each committed event is published (the relay's wake-up).
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// The `relay` binary to measure.
    #[arg(long)]
    relay_bin: PathBuf,
    /// Events for the throughput runs.
    #[arg(long, default_value_t = 50_000)]
    events: u64,
    /// Events per second for the latency runs.
    #[arg(long, default_value_t = 500)]
    rate: u64,
    /// Seconds of each latency run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Where to write the results as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// A representative `order.created` payload.
const PAYLOAD_SQL: &str = "jsonb_build_object('order_id', $1::int8, 'user_id', 42, \
    'items', jsonb_build_array(jsonb_build_object('product_id', 7, 'quantity', 2, 'price', 15000)), \
    'total_amount', 30000, 'status', 'pending')";

const RAW_TOPIC: &str = "bench.raw";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cfg = Config::parse_from([
        "relay",
        "--database-url",
        &args.database_url,
        "--kafka-brokers",
        &args.brokers,
    ]);
    let db = connect(&args.database_url).await?;
    db.batch_execute("TRUNCATE outbox").await?;
    let payload: String = db
        .query_one(&format!("SELECT ({PAYLOAD_SQL})::text"), &[&1_i64])
        .await?
        .get(0);

    kafka::create_named_topics(&cfg, &[RAW_TOPIC]).await?;
    let producer = kafka::producer(&cfg)?;
    let raw_rate = raw_throughput(&producer, &payload, args.events).await?;
    eprintln!("raw produce: {raw_rate:.0} events/s");
    let raw_latency = raw_latency(&producer, &payload, args.rate, args.seconds).await?;
    eprintln!("raw produce latency: {raw_latency:?} ms");

    // Throughput: a backlog of N events, drained from a cold start.
    db.execute(
        &format!(
            "INSERT INTO outbox (event_id, event_type, aggregate_id, payload) \
             SELECT gen_random_uuid(), 'order.created', g % 1000, {} \
             FROM generate_series(1, $1::int8) g",
            PAYLOAD_SQL.replace("$1::int8", "g")
        ),
        &[&(args.events as i64)],
    )
    .await?;
    let count: i64 = db
        .query_one("SELECT count(*) FROM outbox", &[])
        .await?
        .get(0);
    if count as u64 != args.events {
        bail!("seeded {count} events, wanted {}", args.events);
    }
    let _relay = start_relay(&args)?;
    wait_relayed(&db, Duration::from_secs(600)).await?;
    let relay_rate = throughput(&db).await?;
    eprintln!("relay: {relay_rate:.0} events/s");

    // Latency: steady commits while the relay runs.
    let first_new: i64 = db
        .query_one("SELECT COALESCE(max(id), 0) FROM outbox", &[])
        .await?
        .get(0);
    let start = Instant::now();
    let total = args.rate * args.seconds;
    let insert = db
        .prepare(&format!(
            "INSERT INTO outbox (event_id, event_type, aggregate_id, payload) \
             VALUES (gen_random_uuid(), 'order.created', $1::int8 % 1000, {PAYLOAD_SQL}) \
             RETURNING payload::text"
        ))
        .await?;
    let mut redis = redis::Client::open(args.redis_url.as_str())?
        .get_multiplexed_async_connection()
        .await?;
    for i in 0..total {
        tokio::time::sleep_until(
            (start + Duration::from_secs_f64(i as f64 / args.rate as f64)).into(),
        )
        .await;
        let payload: String = db.query_one(&insert, &[&(i as i64)]).await?.get(0);
        redis::cmd("PUBLISH")
            .arg("order.created")
            .arg(payload)
            .query_async::<i64>(&mut redis)
            .await?;
    }
    let achieved = total as f64 / start.elapsed().as_secs_f64();
    wait_relayed(&db, Duration::from_secs(120)).await?;
    let relay_latency = relay_latency(&db, first_new).await?;
    eprintln!("relay latency: {relay_latency:?} ms");

    print_table(
        &args,
        raw_rate,
        relay_rate,
        raw_latency,
        relay_latency,
        achieved,
    );
    if let Some(path) = &args.json {
        let results = json!({
            "events": args.events,
            "rate": args.rate,
            "achieved_rate": achieved,
            "seconds": args.seconds,
            "batch_size": cfg.batch_size,
            "raw": {"events_per_s": raw_rate, "p50_ms": raw_latency.0, "p99_ms": raw_latency.1},
            "relay": {"events_per_s": relay_rate, "p50_ms": relay_latency.0, "p99_ms": relay_latency.1},
        });
        std::fs::write(path, serde_json::to_vec_pretty(&results)?)?;
    }
    Ok(())
}

async fn connect(url: &str) -> anyhow::Result<Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .context("connecting to the benchmark database")?;
    tokio::spawn(connection);
    Ok(client)
}

fn record<'a>(payload: &'a str, key: &'a str, id: &'a str) -> FutureRecord<'a, str, str> {
    FutureRecord::to(RAW_TOPIC)
        .key(key)
        .payload(payload)
        .headers(OwnedHeaders::new().insert(Header {
            key: "event_id",
            value: Some(id),
        }))
}

/// Events/s of `n` records sent at once and all acknowledged.
async fn raw_throughput(producer: &FutureProducer, payload: &str, n: u64) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut deliveries = Vec::with_capacity(n as usize);
    for i in 0..n {
        let key = (i % 1000).to_string();
        let id = format!("raw-{i}");
        match producer.send_result(record(payload, &key, &id)) {
            Ok(d) => deliveries.push(d),
            Err((e, _)) => bail!("raw produce: {e}"),
        }
    }
    for d in deliveries {
        if let Err((e, _)) = d.await? {
            bail!("raw produce: {e}");
        }
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// (p50, p99) in ms of send → acknowledgement at `rate` records/s.
async fn raw_latency(
    producer: &FutureProducer,
    payload: &str,
    rate: u64,
    seconds: u64,
) -> anyhow::Result<(f64, f64)> {
    let start = Instant::now();
    let mut waits = Vec::new();
    for i in 0..rate * seconds {
        tokio::time::sleep_until((start + Duration::from_secs_f64(i as f64 / rate as f64)).into())
            .await;
        let key = (i % 1000).to_string();
        let id = format!("raw-latency-{i}");
        let sent = Instant::now();
        let delivery = match producer.send_result(record(payload, &key, &id)) {
            Ok(d) => d,
            Err((e, _)) => bail!("raw produce: {e}"),
        };
        waits.push(tokio::spawn(async move {
            delivery
                .await
                .ok()
                .and_then(|r| r.ok())
                .map(|_| sent.elapsed())
        }));
    }
    let mut ms = Vec::with_capacity(waits.len());
    for w in waits {
        match w.await? {
            Some(d) => ms.push(d.as_secs_f64() * 1000.0),
            None => bail!("a raw record was not acknowledged"),
        }
    }
    ms.sort_by(f64::total_cmp);
    Ok((percentile(&ms, 0.5), percentile(&ms, 0.99)))
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn start_relay(args: &Args) -> anyhow::Result<KillOnDrop> {
    let port = free_port()?;
    let child = Command::new(&args.relay_bin)
        .env("DATABASE_URL", &args.database_url)
        .env("KAFKA_BROKERS", &args.brokers)
        .env("REDIS_URL", &args.redis_url)
        .env("RELAY_HTTP_ADDR", format!("127.0.0.1:{port}"))
        // Nothing consumes here: keep redelivery out of the measurement.
        .env("RELAY_REDELIVER_AFTER_SECS", "86400")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", args.relay_bin.display()))?;
    let child = KillOnDrop(child);
    wait_listening(port, "relay", Duration::from_secs(30))?;
    Ok(child)
}

async fn wait_relayed(db: &Client, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let left: i64 = db
            .query_one("SELECT count(*) FROM outbox WHERE relayed_at IS NULL", &[])
            .await?
            .get(0);
        if left == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{left} events not relayed after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Events/s from the first mark to the last (the relay's start-up excluded).
async fn throughput(db: &Client) -> anyhow::Result<f64> {
    let row = db
        .query_one(
            "SELECT count(*), EXTRACT(EPOCH FROM max(relayed_at) - min(relayed_at))::float8 FROM outbox",
            &[],
        )
        .await?;
    let (n, secs): (i64, f64) = (row.get(0), row.get(1));
    Ok(n as f64 / secs.max(1e-3))
}

/// (p50, p99) in ms from commit to the mark after Kafka's acknowledgement.
async fn relay_latency(db: &Client, after_id: i64) -> anyhow::Result<(f64, f64)> {
    let row = db
        .query_one(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), \
                    percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) \
             FROM (SELECT EXTRACT(EPOCH FROM relayed_at - created_at)::float8 * 1000 AS ms \
                   FROM outbox WHERE id > $1) t",
            &[&after_id],
        )
        .await?;
    Ok((row.get(0), row.get(1)))
}

fn print_table(
    args: &Args,
    raw_rate: f64,
    relay_rate: f64,
    raw_latency: (f64, f64),
    relay_latency: (f64, f64),
    achieved: f64,
) {
    println!(
        "\nrelay benchmark: {} events for throughput; {} events/s for {} s for latency (achieved {achieved:.0}/s)",
        args.events, args.rate, args.seconds
    );
    println!(
        "{:<34} {:>10} {:>8} {:>8}",
        "", "events/s", "p50 ms", "p99 ms"
    );
    println!(
        "{:<34} {:>10.0} {:>8.2} {:>8.2}",
        "raw produce (same client, broker)", raw_rate, raw_latency.0, raw_latency.1
    );
    println!(
        "{:<34} {:>10.0} {:>8.2} {:>8.2}",
        "relay outbox → Kafka (marked)", relay_rate, relay_latency.0, relay_latency.1
    );
    println!(
        "{:<34} {:>10.2} {:>8.2} {:>8.2}",
        "relay / raw",
        relay_rate / raw_rate.max(1e-9),
        relay_latency.0 / raw_latency.0.max(1e-9),
        relay_latency.1 / raw_latency.1.max(1e-9)
    );
}
