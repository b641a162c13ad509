//! The relay loop. One replica leads (a Postgres advisory lock): it alone
//! reads the outbox, so events leave in outbox order and per-key order holds
//! across replicas; the others wait to take over. Rows are marked relayed only
//! after the broker acknowledged them; a crash between the two re-produces
//! them (at least once — consumers dedupe on `event_id`), never loses them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use tokio::sync::watch;
use tokio_postgres::{Client, NoTls};

use crate::config::Config;
use crate::event::{check, redelivery_delay};
use crate::metrics::Metrics;
use crate::{kafka, outbox};

pub struct Relay {
    pub cfg: Config,
    pub metrics: Arc<Metrics>,
    pub ready: Arc<AtomicBool>,
    pub producer: FutureProducer,
    pub redis: Option<redis::aio::MultiplexedConnection>,
    pub topics_ready: bool,
}

const MAX_BACKOFF: Duration = Duration::from_secs(10);

impl Relay {
    /// Runs until `stop` turns true; a batch in flight is finished first.
    pub async fn run(&mut self, mut stop: watch::Receiver<bool>) {
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
        let (db, connection) = tokio_postgres::connect(&self.cfg.database_url, NoTls).await?;
        let driver = tokio::spawn(connection);
        self.ready.store(true, Ordering::Relaxed);
        let result = self.lead(&db, stop).await;
        drop(db);
        let _ = driver.await;
        result
    }

    async fn lead(&mut self, db: &Client, stop: &mut watch::Receiver<bool>) -> anyhow::Result<()> {
        while !outbox::try_lead(db).await? {
            self.metrics.leader.set(0);
            self.update_backlog(db).await?;
            if sleep_or_stop(Duration::from_secs(1), stop).await {
                return Ok(());
            }
        }
        self.metrics.leader.set(1);
        tracing::info!("leading the relay");
        let mut last_redelivery = std::time::Instant::now() - Duration::from_secs(60);
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            if !self.topics_ready {
                kafka::create_topics(&self.cfg).await?;
                self.reconcile(db).await?;
                self.topics_ready = true;
            }
            let (produced, failed) = self.relay_batch(db).await?;
            if failed > 0 {
                self.recover_kafka();
            }
            if last_redelivery.elapsed() >= Duration::from_secs(1) {
                self.redeliver(db).await?;
                self.update_backlog(db).await?;
                last_redelivery = std::time::Instant::now();
            }
            let pause = if failed > 0 {
                MAX_BACKOFF.min(self.cfg.poll() * 10)
            } else if produced == 0 {
                self.cfg.poll()
            } else {
                Duration::ZERO
            };
            if !pause.is_zero() && sleep_or_stop(pause, stop).await {
                return Ok(());
            }
        }
    }

    /// After failed deliveries: a broker that lost its state (a restart of
    /// an in-memory broker) fences the idempotent producer and forgets the
    /// topics, so make a new producer if it is fatally broken and create the
    /// topics again before the next batch.
    fn recover_kafka(&mut self) {
        if let Some((code, reason)) = self.producer.client().fatal_error() {
            tracing::error!(?code, %reason, "Kafka producer failed fatally; making a new one");
            match kafka::producer(&self.cfg) {
                Ok(p) => self.producer = p,
                Err(e) => tracing::error!(error = %e, "could not make a new producer"),
            }
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
    async fn relay_batch(&mut self, db: &Client) -> anyhow::Result<(usize, usize)> {
        let rows = outbox::next_batch(db, self.cfg.batch_size).await?;
        let mut deliveries = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Err(bad) = check(&row.event_type, &row.payload) {
                tracing::error!(id = row.id, event_id = %row.event_id, reason = %bad.reason(), "skipping bad outbox row");
                outbox::mark_skipped(db, row.id, &bad.reason()).await?;
                self.metrics.skipped.inc();
                continue;
            }
            let record = FutureRecord::to(&row.event_type)
                .key(row.key.as_str())
                .payload(row.payload.as_str())
                .headers(OwnedHeaders::new().insert(Header {
                    key: "event_id",
                    value: Some(row.event_id.as_str()),
                }));
            match self.producer.send_result(record) {
                Ok(delivery) => deliveries.push((row.id, delivery)),
                Err((e, _)) => {
                    tracing::warn!(id = row.id, error = %e, "could not enqueue; will retry");
                    break; // keep order: nothing after an unqueued row goes out now
                }
            }
        }
        let mut acked = Vec::new();
        let mut failed = 0;
        for (id, delivery) in deliveries {
            match delivery.await {
                Ok(Ok(_)) => acked.push(id),
                Ok(Err((e, _))) => {
                    failed += 1;
                    tracing::warn!(id, error = %e, "not acknowledged by Kafka; will retry");
                }
                Err(_) => failed += 1,
            }
        }
        if failed > 0 {
            self.metrics.errors.inc();
        }
        if !acked.is_empty() {
            outbox::mark_relayed(db, &acked).await?;
            self.metrics.produced.inc_by(acked.len() as u64);
        }
        Ok((acked.len(), failed))
    }

    /// Re-publishes to Redis what no consumer acknowledged in time, with
    /// doubling delays, and gives up (loudly, the row kept) after the bound.
    async fn redeliver(&mut self, db: &Client) -> anyhow::Result<()> {
        let base = self.cfg.redeliver_after();
        let due = outbox::unacknowledged(db, base.as_secs_f64()).await?;
        for event in due {
            let wait =
                redelivery_delay(base, event.attempts.max(0) as u32, self.cfg.redeliver_cap());
            if event.idle_secs < wait.as_secs_f64() {
                continue;
            }
            if event.attempts >= self.cfg.redeliver_max_attempts {
                outbox::mark_gave_up(db, event.id).await?;
                self.metrics.gave_up.inc();
                tracing::error!(
                    id = event.id,
                    attempts = event.attempts,
                    "giving up: no consumer acknowledged this event"
                );
                continue;
            }
            match self.publish(&event.event_type, &event.payload).await {
                Ok(()) => {
                    outbox::mark_published(db, event.id).await?;
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
        Ok(())
    }
}

/// Sleeps; true if asked to stop meanwhile.
async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}
