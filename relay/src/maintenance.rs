//! The platform's periodic work, as the relay's leader does it
//! (docs/decisions/0004): every `--maintenance-every-secs` it publishes a
//! tick on Redis for the `maintenance-worker` component (expiry,
//! reconciliation: one bounded sweep per tick) and prunes what the
//! retention policy no longer keeps (`prune_retained`, migration V12) —
//! plain SQL, so the relay runs it itself.

use std::time::{SystemTime, UNIX_EPOCH};

use tokio_postgres::Client;

/// The Redis channel the ticks are published on.
pub const TICK_CHANNEL: &str = "maintenance.tick";

/// `{"type":"maintenance.tick","at":"<RFC 3339 UTC>"}`, `at` being `now`.
pub fn tick_payload(now: SystemTime) -> String {
    serde_json::json!({ "type": TICK_CHANNEL, "at": rfc3339_utc(now) }).to_string()
}

/// Seconds since the Unix epoch (0 before it).
pub fn unix_secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `t` as the events' timestamps are written (`2026-12-02T10:41:07.123456Z`).
fn rfc3339_utc(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let in_day = secs % 86_400;
    platform_core::time::rfc3339_utc(
        year,
        month,
        day,
        (in_day / 3600) as u8,
        (in_day / 60 % 60) as u8,
        (in_day % 60) as u8,
        since.subsec_nanos(),
    )
}

/// The proleptic Gregorian date of a day number since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month, day)
}

/// Deletes, in every table with a retention policy, at most `limit` rows
/// past it, oldest first (`prune_retained`, V12). `outbox_needs_relay`
/// (Kafka is on) keeps acknowledged outbox rows until they are relayed too.
/// Returns (table, rows deleted) for every table, 0s included.
pub async fn prune(
    db: &Client,
    limit: i32,
    outbox_needs_relay: bool,
) -> Result<Vec<(String, i64)>, tokio_postgres::Error> {
    let rows = db
        .query(
            "SELECT table_name, pruned FROM prune_retained($1, $2)",
            &[&limit, &outbox_needs_relay],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// How the orders' lifecycle is doing (`lifecycle_health`, V14): what the
/// relay exports for an operator to alert on.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Health {
    /// Refunds of late money not yet accepted by Midtrans.
    pub refunds_owed: i64,
    /// Refunds Midtrans refused: an operator's to resolve.
    pub refunds_refused: i64,
    /// Attempts whose money came after their order had ended (ever).
    pub paid_late: i64,
    /// Pending orders the sweep should have looked at by now.
    pub orders_overdue: i64,
    pub oldest_overdue_secs: f64,
}

/// An order is overdue this long after the sweep should have claimed it
/// (a healthy sweep runs every 30 s; a claim's lease is 2 minutes).
pub const OVERDUE_GRACE_SECS: i32 = 300;

pub async fn health(db: &Client) -> Result<Health, tokio_postgres::Error> {
    let r = db
        .query_one(
            "SELECT refunds_owed, refunds_refused, paid_late, orders_overdue, oldest_overdue_secs \
             FROM lifecycle_health($1)",
            &[&OVERDUE_GRACE_SECS],
        )
        .await?;
    Ok(Health {
        refunds_owed: r.get(0),
        refunds_refused: r.get(1),
        paid_late: r.get(2),
        orders_overdue: r.get(3),
        oldest_overdue_secs: r.get(4),
    })
}

/// What an operator watches beside the lifecycle (V19): the last day's
/// orders by status and notifications by verdict, and the open anomalies by kind
/// (`GET /admin/anomalies`'s rules, counted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorCounts {
    pub orders: Vec<(String, i64)>,
    pub notifications: Vec<(String, i64)>,
    pub anomalies: Vec<(String, i64)>,
}

/// How long an event may wait for its consumer, or a status disagree,
/// before it counts as an anomaly (the admin API's default).
pub const ANOMALY_AFTER_SECS: i32 = 300;

pub async fn operator_counts(db: &Client) -> Result<OperatorCounts, tokio_postgres::Error> {
    let mut counts = OperatorCounts::default();
    for r in db
        .query("SELECT metric, label, value FROM operator_counts()", &[])
        .await?
    {
        let row = (r.get::<_, String>(1), r.get::<_, i64>(2));
        match r.get::<_, String>(0).as_str() {
            "orders_24h" => counts.orders.push(row),
            _ => counts.notifications.push(row),
        }
    }
    let rows = db
        .query(
            "SELECT kind, open FROM anomaly_counts($1)",
            &[&ANOMALY_AFTER_SECS],
        )
        .await?;
    counts.anomalies = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, micros: u64) -> String {
        rfc3339_utc(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros))
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 0), "2000-02-29T00:00:00.000000Z");
        assert_eq!(at(951_868_799, 999_999), "2000-02-29T23:59:59.999999Z");
        assert_eq!(at(1_700_000_000, 123_456), "2023-11-14T22:13:20.123456Z");
        assert_eq!(at(1_798_761_599, 0), "2026-12-31T23:59:59.000000Z");
        assert_eq!(at(4_107_542_400, 0), "2100-03-01T00:00:00.000000Z");
    }

    #[test]
    fn a_tick_names_its_type_and_time() {
        let payload = tick_payload(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(v["type"], "maintenance.tick");
        assert_eq!(v["at"], "2023-11-14T22:13:20.000000Z");
        assert_eq!(v.as_object().unwrap().len(), 2);
    }
}
