//! The relay loop. One replica leads (a Postgres advisory lock): it alone
//! reads the outbox, so events leave in outbox order and per-key order holds
//! across replicas; the others wait to take over. Rows are marked relayed only
//! after the broker acknowledged them; a crash between the two re-produces
//! them (at least once — consumers dedupe on `event_id`), never loses them.
//!
//! The leader also re-publishes to Redis, every second, the events no
//! consumer acknowledged. With Kafka off (`KAFKA_BROKERS` empty or `off`) that
//! is all it does: no producer, no topics, `relayed_at` left alone — the rows
//! go to Kafka once a relay runs with brokers configured.
//!
//! Every `--maintenance-every-secs` the leader also publishes
//! `maintenance.tick` on Redis and prunes past the retention policy
//! ([`maintenance`]).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, Producer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{watch, Notify};
use tokio_postgres::{Client, Connection, Socket};

use crate::config::Config;
use crate::event::{check, redelivery_delay};
use crate::metrics::Metrics;
use crate::{http, kafka, maintenance, outbox, wake, waves};

/// Runs the relay with `cfg` until `shutdown` completes: the probe and
/// metrics server, the leader election and the relay loop. The batch in
/// flight when `shutdown` fires is finished and the producer flushed.
/// With Kafka off it only re-publishes unacknowledged events to Redis.
pub async fn run(cfg: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let ready = Arc::new(AtomicBool::new(false));
    tokio::spawn(http::serve(
        cfg.http_addr.clone(),
        http::Probe {
            metrics: metrics.clone(),
            ready: ready.clone(),
        },
    ));
    let producer = match cfg.kafka_brokers() {
        Some(_) => Some(kafka::producer(&cfg)?),
        None => {
            tracing::warn!(
                "Kafka publishing is off (KAFKA_BROKERS is empty); \
                 re-publishing unacknowledged events to Redis only"
            );
            None
        }
    };
    // Only producing to Kafka needs waking: re-publication runs every second.
    let wake = Arc::new(Notify::new());
    let listener = producer
        .is_some()
        .then(|| tokio::spawn(wake::listen(cfg.redis_url.clone(), wake.clone())));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut relay = Relay {
        wake,
        producer,
        cfg,
        metrics,
        ready,
        redis: None,
        topics_ready: false,
        unmarked: Vec::new(),
    };
    let stopping = async {
        shutdown.await;
        tracing::info!("stopping after the batch in flight");
        let _ = stop_tx.send(true);
        // Keep the sender alive until the loop has seen the signal.
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = relay.run(stop_rx) => {}
        _ = stopping => {}
    }
    if let Some(listener) = listener {
        listener.abort();
    }
    if let Some(producer) = &relay.producer {
        producer.flush(Duration::from_secs(10))?;
    }
    Ok(())
}

/// The relay's state; only [`run`] builds it.
struct Relay {
    cfg: Config,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    /// Woken when events were committed ([`wake::listen`]).
    wake: Arc<Notify>,
    /// `None` with Kafka off: nothing is produced, only redelivered.
    producer: Option<FutureProducer>,
    redis: Option<redis::aio::MultiplexedConnection>,
    /// Topics exist and the partitions' tails are reconciled with the outbox.
    topics_ready: bool,
    /// Rows Kafka acknowledged that are not marked yet (Postgres went away
    /// between the ack and the mark): marked first when it is back.
    unmarked: Vec<i64>,
}

const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Due events re-published per pass (a pass runs every second).
const REDELIVERY_BATCH: i64 = 500;

impl Relay {
    /// Runs until `stop` turns true; a batch in flight is finished first.
    async fn run(&mut self, mut stop: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(200);
        while !*stop.borrow() {
            match self.session(&mut stop).await {
                Ok(()) => break,
                Err(e) => {
                    self.metrics.errors.inc();
                    self.metrics.leader.set(0);
                    self.ready.store(false, Ordering::Relaxed);
                    tracing::error!(error = %format!("{e:#}"), "relay session ended; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stop.changed() => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        self.metrics.leader.set(0);
    }

    async fn session(&mut self, stop: &mut watch::Receiver<bool>) -> anyhow::Result<()> {
        let (db, connection) = pg_connect::connect_with(&self.cfg.database_url).await?;
        let driver = tokio::spawn(drive(connection));
        self.ready.store(true, Ordering::Relaxed);
        let wake = self.wake.clone();
        let result = self.lead(&db, &wake, stop).await;
        drop(db);
        let _ = driver.await;
        result
    }

    async fn lead(
        &mut self,
        db: &Client,
        wake: &Notify,
        stop: &mut watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        while !outbox::try_lead(db).await? {
            self.metrics.leader.set(0);
            self.update_backlog(db).await?;
            if sleep_or_stop(Duration::from_secs(1), stop).await {
                return Ok(());
            }
        }
        self.metrics.leader.set(1);
        tracing::info!("leading the relay");
        self.mark_acknowledged(db).await?;
        // Another replica may have led (and died mid-batch) since we last did.
        self.topics_ready = false;
        let mut last_redelivery = Instant::now() - Duration::from_secs(60);
        // A new leader ticks at once (its predecessor's schedule died with it).
        let mut next_maintenance = self.cfg.maintenance_every().map(|_| Instant::now());
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let (produced, failed) = self.produce(db).await?;
            if last_redelivery.elapsed() >= Duration::from_secs(1) {
                self.redeliver(db).await?;
                self.update_backlog(db).await?;
                last_redelivery = Instant::now();
            }
            if let (Some(due), Some(every)) = (next_maintenance, self.cfg.maintenance_every()) {
                if Instant::now() >= due {
                    self.maintain(db).await;
                    next_maintenance = Some(Instant::now() + every);
                }
            }
            if failed > 0 {
                if sleep_or_stop(MAX_BACKOFF.min(self.cfg.poll() * 10), stop).await {
                    return Ok(());
                }
            } else if produced == 0 {
                // Idle: until events are committed (or the poll interval,
                // should a wake-up message be missed).
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(self.cfg.poll()) => {}
                    _ = sleep_until(next_maintenance) => {}
                    _ = stop.changed() => return Ok(()),
                }
            }
        }
    }

    /// Produces the next batch to Kafka — creating the topics and reconciling
    /// first, as a new leader or after a failed batch — and returns
    /// (produced, failed); (0, 0) with Kafka off.
    async fn produce(&mut self, db: &Client) -> anyhow::Result<(usize, usize)> {
        // A handle (an `Arc`): `recover_kafka` may replace `self.producer`.
        let Some(producer) = self.producer.clone() else {
            return Ok((0, 0));
        };
        if !self.topics_ready {
            kafka::create_topics(&self.cfg).await?;
            self.reconcile(db).await?;
            self.topics_ready = true;
        }
        let (produced, failed) = self.relay_batch(db, &producer).await?;
        if failed > 0 {
            self.recover_kafka(&producer);
        }
        Ok((produced, failed))
    }

    /// After a batch Kafka did not fully acknowledge: start a new producer
    /// and create the topics again before the next batch. A broker that lost
    /// its state (an in-memory broker restarted) fences the idempotent
    /// producer (a fatal error) or leaves it stalled: librdkafka's epoch bump
    /// after timed-out messages never completes there. Every delivery of the
    /// batch has resolved, and dropping the old producer purges what it still
    /// holds, so its rows — all unmarked — go out again from the new one.
    fn recover_kafka(&mut self, failed: &FutureProducer) {
        match failed.client().fatal_error() {
            Some((code, reason)) => {
                tracing::error!(?code, %reason, "Kafka producer failed fatally; making a new one")
            }
            None => tracing::warn!("Kafka did not acknowledge a batch; making a new producer"),
        }
        match kafka::producer(&self.cfg) {
            Ok(p) => self.producer = Some(p),
            Err(e) => tracing::error!(error = %e, "could not make a new producer"),
        }
        self.topics_ready = false;
    }

    /// Before producing as a new leader: a predecessor may have died after
    /// Kafka acknowledged a batch and before marking it. Its events are at the
    /// tails of the partitions (at most a batch), so mark those rows instead
    /// of producing them again.
    async fn reconcile(&self, db: &Client) -> anyhow::Result<()> {
        let cfg = self.cfg.clone();
        let depth = cfg.batch_size;
        let ids =
            tokio::task::spawn_blocking(move || kafka::recent_event_ids(&cfg, depth)).await??;
        let marked = outbox::mark_relayed_by_event_id(db, &ids).await?;
        self.metrics.reconciled.inc_by(marked);
        if marked > 0 {
            tracing::warn!(
                marked,
                "found events already in Kafka but not marked; marked them"
            );
        }
        Ok(())
    }

    /// Produces one batch; returns (produced, failed).
    async fn relay_batch(
        &mut self,
        db: &Client,
        producer: &FutureProducer,
    ) -> anyhow::Result<(usize, usize)> {
        let started = std::time::Instant::now();
        let rows = outbox::next_batch(db, self.cfg.batch_size).await?;
        let read = started.elapsed();
        let mut good = Vec::with_capacity(rows.len());
        for row in &rows {
            match check(&row.event_type, &row.payload) {
                Ok(()) => good.push(row),
                Err(bad) => {
                    tracing::error!(id = row.id, event_id = %row.event_id, reason = %bad.reason(), "skipping bad outbox row");
                    outbox::mark_skipped(db, row.id, &bad.reason()).await?;
                    self.metrics.skipped.inc();
                }
            }
        }
        let keys: Vec<&str> = good.iter().map(|r| r.key.as_str()).collect();
        let mut acked = Vec::new();
        let mut failed = 0;
        let mut first_error = None;
        for wave in waves::plan(&keys) {
            let mut deliveries = Vec::with_capacity(wave.len());
            for i in wave {
                let row = good[i];
                match producer.send_result(kafka::record(row)) {
                    Ok(delivery) => deliveries.push((row.id, delivery)),
                    // Too large for any broker, now or later: a bad row like
                    // the others, skipped rather than blocking its successors.
                    Err((
                        KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge),
                        _,
                    )) => {
                        let reason = "larger than message.max.bytes";
                        tracing::error!(id = row.id, event_id = %row.event_id, reason, "skipping bad outbox row");
                        outbox::mark_skipped(db, row.id, reason).await?;
                        self.metrics.skipped.inc();
                    }
                    Err((e, _)) => {
                        failed += 1;
                        first_error.get_or_insert((row.id, format!("not enqueued: {e}")));
                    }
                }
            }
            for (id, delivery) in deliveries {
                match delivery.await {
                    Ok(Ok(_)) => acked.push(id),
                    Ok(Err((e, _))) => {
                        failed += 1;
                        first_error.get_or_insert((id, e.to_string()));
                    }
                    Err(_) => failed += 1,
                }
            }
            // A key whose row failed must not send its next row: stop here;
            // the next batch starts again from the oldest unmarked row.
            if failed > 0 {
                break;
            }
        }
        if failed > 0 {
            self.metrics.errors.inc();
            let (first_id, error) = first_error.unwrap_or((0, "delivery cancelled".into()));
            tracing::warn!(failed, first_id, %error, "rows not acknowledged by Kafka; will retry");
        }
        let produced = acked.len();
        let acknowledged = started.elapsed();
        self.metrics.produced.inc_by(produced as u64);
        self.unmarked.extend(acked);
        self.mark_acknowledged(db).await?;
        if !rows.is_empty() {
            tracing::debug!(
                rows = rows.len(),
                read_ms = read.as_secs_f64() * 1e3,
                acked_ms = acknowledged.as_secs_f64() * 1e3,
                marked_ms = started.elapsed().as_secs_f64() * 1e3,
                "batch"
            );
        }
        Ok((produced, failed))
    }

    /// Marks what Kafka acknowledged. If Postgres fails here the ids are kept
    /// and marked after reconnecting, so they are not produced again.
    async fn mark_acknowledged(&mut self, db: &Client) -> anyhow::Result<()> {
        if !self.unmarked.is_empty() {
            tracing::debug!(rows = self.unmarked.len(), "marking acknowledged rows");
            outbox::mark_relayed(db, &self.unmarked).await?;
            self.unmarked.clear();
        }
        Ok(())
    }

    /// Re-publishes to Redis what no consumer acknowledged in time, with
    /// doubling delays up to the cap, for as long as it stays unacknowledged:
    /// a consumer down for hours still gets every event when it is back (the
    /// bound is an alert on the events' age, never a stop).
    async fn redeliver(&mut self, db: &Client) -> anyhow::Result<()> {
        let base = self.cfg.redeliver_after();
        let due = outbox::due_for_redelivery(db, base.as_secs_f64(), REDELIVERY_BATCH).await?;
        for event in due {
            match self.publish(&event.event_type, &event.payload).await {
                Ok(()) => {
                    let attempts = event.attempts.max(0) as u32 + 1;
                    let next = redelivery_delay(base, attempts, self.cfg.redeliver_cap());
                    outbox::mark_published(db, event.id, next.as_secs_f64()).await?;
                    self.metrics.redelivered.inc();
                }
                Err(e) => {
                    self.metrics.errors.inc();
                    self.redis = None;
                    tracing::warn!(error = %e, "Redis unavailable; redelivery waits");
                    break;
                }
            }
        }
        Ok(())
    }

    /// One maintenance tick: `maintenance.tick` on Redis, the lifecycle's
    /// health gauges, then one bounded prune. Neither ends the session when it fails: it is logged and
    /// counted, and the next tick tries again (a Postgres that went away
    /// ends the session at the next outbox read anyway).
    async fn maintain(&mut self, db: &Client) {
        let now = SystemTime::now();
        match self
            .publish(maintenance::TICK_CHANNEL, &maintenance::tick_payload(now))
            .await
        {
            Ok(()) => {
                self.metrics.maintenance_ticks.inc();
                self.metrics
                    .maintenance_last_tick
                    .set(maintenance::unix_secs(now));
            }
            Err(e) => {
                self.metrics.errors.inc();
                self.redis = None;
                tracing::warn!(error = %e, "Redis unavailable; maintenance tick not published");
            }
        }
        match maintenance::health(db).await {
            Ok(health) => self.metrics.set_health(&health),
            Err(e) => {
                self.metrics.errors.inc();
                let error = format!("{:#}", anyhow::Error::from(e));
                tracing::warn!(%error, "lifecycle health not read; trying again at the next tick");
            }
        }
        match maintenance::operator_counts(db).await {
            Ok(counts) => self.metrics.set_operator(&counts),
            Err(e) => {
                self.metrics.errors.inc();
                let error = format!("{:#}", anyhow::Error::from(e));
                tracing::warn!(%error, "operator counts not read; trying again at the next tick");
            }
        }
        if self.cfg.prune_batch == 0 {
            return;
        }
        let needs_relay = self.cfg.kafka_brokers().is_some();
        match maintenance::prune(db, self.cfg.prune_batch, needs_relay).await {
            Ok(pruned) => {
                self.metrics.add_pruned(&pruned);
                let total: i64 = pruned.iter().map(|(_, n)| n).sum();
                if total > 0 {
                    let tables: serde_json::Map<String, serde_json::Value> = pruned
                        .iter()
                        .filter(|(_, n)| *n > 0)
                        .map(|(table, n)| (table.clone(), (*n).into()))
                        .collect();
                    let tables = serde_json::Value::Object(tables);
                    tracing::info!(total, %tables, "pruned rows past retention");
                }
            }
            Err(e) => {
                self.metrics.errors.inc();
                let error = format!("{:#}", anyhow::Error::from(e));
                tracing::warn!(%error, "pruning failed; trying again at the next tick");
            }
        }
    }

    async fn publish(&mut self, channel: &str, payload: &str) -> redis::RedisResult<()> {
        if self.redis.is_none() {
            let client = redis::Client::open(self.cfg.redis_url.as_str())?;
            self.redis = Some(client.get_multiplexed_async_connection().await?);
        }
        let Some(conn) = self.redis.as_mut() else {
            return Ok(());
        };
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload)
            .query_async::<i64>(conn)
            .await?;
        Ok(())
    }

    async fn update_backlog(&self, db: &Client) -> anyhow::Result<()> {
        let (count, oldest) = outbox::backlog(db).await?;
        self.metrics.backlog.set(count);
        self.metrics.oldest_unrelayed_secs.set(oldest as i64);
        let unacknowledged = outbox::unacknowledged(db).await?;
        self.metrics.set_unacknowledged(&unacknowledged);
        Ok(())
    }
}

/// Drives the session's connection until it ends.
async fn drive<T>(connection: Connection<Socket, T>)
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    if let Err(e) = connection.await {
        tracing::warn!(error = %e, "Postgres connection ended");
    }
}

/// Until `due`; never when there is none.
async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due.into()).await,
        None => std::future::pending().await,
    }
}

/// Sleeps; true if asked to stop meanwhile.
async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}
