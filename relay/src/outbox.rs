//! The relay's SQL. Each change is one statement.

use tokio_postgres::Client;

pub struct Row {
    pub id: i64,
    pub event_id: String,
    pub event_type: String,
    pub key: String,
    pub payload: String,
}

pub struct Unacknowledged {
    pub id: i64,
    pub event_type: String,
    pub payload: String,
    pub attempts: i32,
}

/// Held by the one replica that relays; released when its session ends.
pub const LEADER_LOCK: i64 = 0x6f75_7462_6f78; // "outbox"

pub async fn try_lead(db: &Client) -> Result<bool, tokio_postgres::Error> {
    Ok(db
        .query_one("SELECT pg_try_advisory_lock($1)", &[&LEADER_LOCK])
        .await?
        .get(0))
}

pub async fn next_batch(db: &Client, limit: i64) -> Result<Vec<Row>, tokio_postgres::Error> {
    let rows = db
        .query(
            // In id order along the unrelayed index, whatever the statistics
            // say (see migrations/V4__outbox_next_batch.sql).
            "SELECT id, event_id, event_type, aggregate_id, payload FROM outbox_next_batch($1)",
            &[&limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Row {
            id: r.get(0),
            event_id: r.get(1),
            event_type: r.get(2),
            key: r.get(3),
            payload: r.get(4),
        })
        .collect())
}

pub async fn mark_relayed(db: &Client, ids: &[i64]) -> Result<u64, tokio_postgres::Error> {
    db.execute(
        "UPDATE outbox SET relayed_at = now() AT TIME ZONE 'UTC' WHERE id = ANY($1) AND relayed_at IS NULL",
        &[&ids],
    )
    .await
}

pub async fn mark_skipped(
    db: &Client,
    id: i64,
    reason: &str,
) -> Result<u64, tokio_postgres::Error> {
    db.execute(
        "UPDATE outbox SET relayed_at = now() AT TIME ZONE 'UTC', relay_error = $2 WHERE id = $1",
        &[&id, &reason],
    )
    .await
}

/// (rows not relayed, age in seconds of the oldest one).
pub async fn backlog(db: &Client) -> Result<(i64, f64), tokio_postgres::Error> {
    let row = db
        .query_one(
            "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM (now() AT TIME ZONE 'UTC') - min(created_at))::float8, 0) \
             FROM outbox WHERE relayed_at IS NULL",
            &[],
        )
        .await?;
    Ok((row.get(0), row.get(1)))
}

/// Events no consumer acknowledged yet, per type: (type, count, age in
/// seconds of the oldest). Walks the unconsumed partial index (V1).
pub async fn unacknowledged(db: &Client) -> Result<Vec<(String, i64, f64)>, tokio_postgres::Error> {
    let rows = db
        .query(
            "SELECT event_type, count(*), \
             EXTRACT(EPOCH FROM (now() AT TIME ZONE 'UTC') - min(created_at))::float8 \
             FROM outbox WHERE consumed_at IS NULL AND gave_up_at IS NULL \
             AND relay_error IS NULL GROUP BY event_type",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Up to `limit` events nobody acknowledged that are due for (re)publication:
/// never re-published and older than `first_after_secs`, or past their
/// `next_attempt_at`. Each half walks its own partial index (V6).
pub async fn due_for_redelivery(
    db: &Client,
    first_after_secs: f64,
    limit: i64,
) -> Result<Vec<Unacknowledged>, tokio_postgres::Error> {
    let rows = db
        .query(
            "SELECT id, event_type, payload, publish_attempts FROM ( \
               (SELECT id, event_type, payload::text, publish_attempts FROM outbox \
                WHERE consumed_at IS NULL AND gave_up_at IS NULL AND relay_error IS NULL \
                  AND next_attempt_at IS NULL \
                  AND created_at <= (now() AT TIME ZONE 'UTC') - make_interval(secs => $1) \
                ORDER BY created_at LIMIT $2) \
               UNION ALL \
               (SELECT id, event_type, payload::text, publish_attempts FROM outbox \
                WHERE consumed_at IS NULL AND gave_up_at IS NULL AND relay_error IS NULL \
                  AND next_attempt_at IS NOT NULL \
                  AND next_attempt_at <= (now() AT TIME ZONE 'UTC') \
                ORDER BY next_attempt_at LIMIT $2) \
             ) due ORDER BY id LIMIT $2",
            &[&first_after_secs, &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Unacknowledged {
            id: r.get(0),
            event_type: r.get(1),
            payload: r.get(2),
            attempts: r.get(3),
        })
        .collect())
}

/// Records a re-publication; the row is due again after `next_after_secs`.
pub async fn mark_published(
    db: &Client,
    id: i64,
    next_after_secs: f64,
) -> Result<u64, tokio_postgres::Error> {
    db.execute(
        "UPDATE outbox SET publish_attempts = publish_attempts + 1, \
         last_published_at = now() AT TIME ZONE 'UTC', \
         next_attempt_at = (now() AT TIME ZONE 'UTC') + make_interval(secs => $2) \
         WHERE id = $1",
        &[&id, &next_after_secs],
    )
    .await
}

/// Marks rows whose events Kafka already holds (produced by a relay that
/// died before it could mark them).
pub async fn mark_relayed_by_event_id(
    db: &Client,
    event_ids: &[String],
) -> Result<u64, tokio_postgres::Error> {
    db.execute(
        "UPDATE outbox SET relayed_at = now() AT TIME ZONE 'UTC' \
         WHERE relayed_at IS NULL AND event_id = ANY($1::text[]::uuid[])",
        &[&event_ids],
    )
    .await
}
