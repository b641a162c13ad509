//! The relay's Prometheus metrics.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Default)]
pub struct Metrics {
    pub produced: Counter,
    pub skipped: Counter,
    pub reconciled: Counter,
    pub redelivered: Counter,
    pub errors: Counter,
    pub backlog: Gauge,
    pub oldest_unrelayed_secs: Gauge,
    /// Events no consumer acknowledged yet, by `type`.
    pub unacknowledged: Family<Vec<(String, String)>, Gauge>,
    /// Age of the oldest of them: what an operator alerts on.
    pub oldest_unacknowledged_secs: Gauge,
    pub leader: Gauge,
    /// `maintenance.tick` messages published.
    pub maintenance_ticks: Counter,
    /// Unix time of the last one: its age is the maintenance's alert.
    pub maintenance_last_tick: Gauge,
    /// Rows the retention policy pruned, by `table`.
    pub pruned: Family<Vec<(String, String)>, Counter>,
    /// The orders' lifecycle (`lifecycle_health`), set on each tick.
    pub refunds_owed: Gauge,
    pub refunds_refused: Gauge,
    pub paid_late: Gauge,
    pub orders_overdue: Gauge,
    pub oldest_overdue_secs: Gauge,
    /// The operator's counts (V19), set on each tick.
    pub orders: Family<Vec<(String, String)>, Gauge>,
    pub notifications: Family<Vec<(String, String)>, Gauge>,
    pub anomalies: Family<Vec<(String, String)>, Gauge>,
}

/// Every label a family exports, so one that emptied reads 0.
const ORDER_STATUSES: [&str; 5] = ["pending", "paid", "failed", "expired", "cancelled"];
const VERDICTS: [&str; 8] = [
    "applied",
    "already_applied",
    "bad_signature",
    "malformed",
    "unknown_order",
    "amount_mismatch",
    "unconfirmed",
    "paid_late",
];
const ANOMALY_KINDS: [&str; 5] = [
    "refund_owed",
    "refund_refused",
    "refund_unconfirmed",
    "status_mismatch",
    "event_unacknowledged",
];

fn set_family(
    family: &Family<Vec<(String, String)>, Gauge>,
    label: &str,
    known: &[&str],
    rows: &[(String, i64)],
) {
    let names = known
        .iter()
        .map(|k| k.to_string())
        .chain(rows.iter().map(|(k, _)| k.clone()));
    for name in names {
        let value = rows.iter().find(|(k, _)| *k == name).map_or(0, |(_, n)| *n);
        family
            .get_or_create(&vec![(label.to_string(), name)])
            .set(value);
    }
}

impl Metrics {
    /// Every gauge family with its known labels at 0, so each metric is
    /// exported from the start (an empty family has no line at all, and an
    /// alert on it could not tell "none" from "not scraped").
    pub fn new() -> Metrics {
        let m = Metrics::default();
        m.set_operator(&crate::maintenance::OperatorCounts::default());
        m
    }

    /// Sets the unacknowledged gauges from `(type, count, oldest age)` rows;
    /// a type with none left reads 0, never its last count.
    pub fn set_unacknowledged(&self, rows: &[(String, i64, f64)]) {
        for event_type in crate::event::EVENT_TYPES {
            let count = rows
                .iter()
                .find(|(t, _, _)| t == event_type)
                .map_or(0, |(_, n, _)| *n);
            self.unacknowledged
                .get_or_create(&vec![("type".to_string(), event_type.to_string())])
                .set(count);
        }
        let oldest = rows.iter().map(|(_, _, age)| *age).fold(0.0, f64::max);
        self.oldest_unacknowledged_secs.set(oldest as i64);
    }

    /// Counts one prune's `(table, rows)`; a table that lost none is still
    /// exported (at its total so far).
    pub fn add_pruned(&self, rows: &[(String, i64)]) {
        for (table, n) in rows {
            self.pruned
                .get_or_create(&vec![("table".to_string(), table.clone())])
                .inc_by((*n).max(0) as u64);
        }
    }

    pub fn set_health(&self, h: &crate::maintenance::Health) {
        self.refunds_owed.set(h.refunds_owed);
        self.refunds_refused.set(h.refunds_refused);
        self.paid_late.set(h.paid_late);
        self.orders_overdue.set(h.orders_overdue);
        self.oldest_overdue_secs.set(h.oldest_overdue_secs as i64);
    }

    pub fn set_operator(&self, c: &crate::maintenance::OperatorCounts) {
        set_family(&self.orders, "status", &ORDER_STATUSES, &c.orders);
        set_family(&self.notifications, "verdict", &VERDICTS, &c.notifications);
        set_family(&self.anomalies, "kind", &ANOMALY_KINDS, &c.anomalies);
    }

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
            "reconciled",
            "Events found already in Kafka but not marked (a predecessor died between ack and mark), marked without producing again",
            self.reconciled.clone(),
        );
        registry.register(
            "redelivered",
            "Events re-published to Redis",
            self.redelivered.clone(),
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
            "unacknowledged",
            "Events no consumer acknowledged yet, by type (re-published until they are)",
            self.unacknowledged.clone(),
        );
        registry.register(
            "oldest_unacknowledged_seconds",
            "Age of the oldest event no consumer acknowledged yet",
            self.oldest_unacknowledged_secs.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica holds the relay lock",
            self.leader.clone(),
        );
        registry.register(
            "maintenance_ticks",
            "maintenance.tick messages published on Redis (the maintenance worker's cue)",
            self.maintenance_ticks.clone(),
        );
        registry.register(
            "maintenance_last_tick_timestamp_seconds",
            "Unix time of the last maintenance.tick published",
            self.maintenance_last_tick.clone(),
        );
        registry.register(
            "pruned_rows",
            "Rows deleted by the retention policy (prune_retained), by table",
            self.pruned.clone(),
        );
        registry.register(
            "refunds_owed",
            "Refunds of money that came after its order ended, not yet accepted by Midtrans",
            self.refunds_owed.clone(),
        );
        registry.register(
            "refunds_refused",
            "Refunds Midtrans refused (an operator's to resolve)",
            self.refunds_refused.clone(),
        );
        registry.register(
            "paid_late",
            "Payment attempts whose money came after their order had ended (ever)",
            self.paid_late.clone(),
        );
        registry.register(
            "orders_overdue",
            "Pending orders the maintenance sweep should have looked at 5 minutes ago or more",
            self.orders_overdue.clone(),
        );
        registry.register(
            "orders_oldest_overdue_seconds",
            "How long the most overdue pending order has waited for the sweep",
            self.oldest_overdue_secs.clone(),
        );
        registry.register(
            "orders_24h",
            "Orders placed in the last 24 hours, by status",
            self.orders.clone(),
        );
        registry.register(
            "payment_notifications_24h",
            "Payment notifications received in the last 24 hours, by verdict",
            self.notifications.clone(),
        );
        registry.register(
            "anomalies",
            "Open anomalies by kind (GET /admin/anomalies; events and mismatches after 5 minutes)",
            self.anomalies.clone(),
        );
        let mut out = String::new();
        let _ = encode(&mut out, &registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_exported_under_its_documented_name() {
        let m = Metrics::default();
        m.reconciled.inc_by(3);
        m.set_unacknowledged(&[("payment.updated".to_string(), 4, 90.5)]);
        m.maintenance_ticks.inc();
        m.maintenance_last_tick.set(1_700_000_000);
        m.add_pruned(&[
            ("outbox".to_string(), 12),
            ("refresh_tokens".to_string(), 0),
        ]);
        m.add_pruned(&[("outbox".to_string(), 3)]);
        let text = m.render();
        for name in [
            "relay_produced_total",
            "relay_skipped_total",
            "relay_reconciled_total",
            "relay_redelivered_total",
            "relay_oldest_unacknowledged_seconds",
            "relay_errors_total",
            "relay_backlog",
            "relay_oldest_unrelayed_seconds",
            "relay_leader",
            "relay_maintenance_ticks_total",
            "relay_maintenance_last_tick_timestamp_seconds",
            "relay_refunds_owed",
            "relay_refunds_refused",
            "relay_paid_late",
            "relay_orders_overdue",
            "relay_orders_oldest_overdue_seconds",
        ] {
            assert!(
                text.lines()
                    .any(|l| l.split_whitespace().next() == Some(name)),
                "{name} missing from:\n{text}"
            );
        }
        assert!(text.contains("relay_reconciled_total 3"), "{text}");
        m.set_operator(&crate::maintenance::OperatorCounts {
            orders: vec![("paid".to_string(), 7)],
            notifications: vec![("bad_signature".to_string(), 2)],
            anomalies: vec![("refund_owed".to_string(), 1)],
        });
        let text = m.render();
        for line in [
            r#"relay_orders_24h{status="paid"} 7"#,
            r#"relay_orders_24h{status="pending"} 0"#,
            r#"relay_payment_notifications_24h{verdict="bad_signature"} 2"#,
            r#"relay_payment_notifications_24h{verdict="applied"} 0"#,
            r#"relay_anomalies{kind="refund_owed"} 1"#,
            r#"relay_anomalies{kind="event_unacknowledged"} 0"#,
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from:\n{text}"
            );
        }
        assert!(
            text.contains(r#"relay_unacknowledged{type="payment.updated"} 4"#),
            "{text}"
        );
        assert!(
            text.contains(r#"relay_unacknowledged{type="order.created"} 0"#),
            "{text}"
        );
        assert!(
            text.contains("relay_oldest_unacknowledged_seconds 90"),
            "{text}"
        );
        assert!(
            text.contains("relay_maintenance_last_tick_timestamp_seconds 1700000000"),
            "{text}"
        );
        assert!(
            text.contains(r#"relay_pruned_rows_total{table="outbox"} 15"#),
            "{text}"
        );
        assert!(
            text.contains(r#"relay_pruned_rows_total{table="refresh_tokens"} 0"#),
            "{text}"
        );
    }
}
