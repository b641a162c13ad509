//! What an outbox row becomes: its topic/channel, its checked payload, and
//! when an unacknowledged event is due to be re-published.

use std::time::Duration;

/// The event types and the Kafka topics / Redis channels of the same names.
pub const EVENT_TYPES: &[&str] = &[
    "order.created",
    "payment.updated",
    "payment.refund_required",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadRow {
    UnknownType(String),
    InvalidPayload,
}

impl BadRow {
    pub fn reason(&self) -> String {
        match self {
            BadRow::UnknownType(t) => format!("unknown event type {t:?}"),
            BadRow::InvalidPayload => "payload is not a JSON object".to_string(),
        }
    }
}

/// Checks a row before it is produced; a bad row is skipped, never retried.
pub fn check(event_type: &str, payload: &str) -> Result<(), BadRow> {
    if !EVENT_TYPES.contains(&event_type) {
        return Err(BadRow::UnknownType(event_type.to_string()));
    }
    match serde_json::from_str::<serde_json::Value>(payload) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(BadRow::InvalidPayload),
    }
}

/// Exponential backoff for re-publishing: `base * 2^attempts`, capped.
pub fn redelivery_delay(base: Duration, attempts: u32, cap: Duration) -> Duration {
    base.checked_mul(1u32.checked_shl(attempts.min(20)).unwrap_or(u32::MAX))
        .unwrap_or(cap)
        .min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_types_with_object_payloads_pass() {
        assert_eq!(check("order.created", r#"{"order_id":1}"#), Ok(()));
        assert_eq!(check("payment.updated", "{}"), Ok(()));
    }

    #[test]
    fn bad_rows_are_named() {
        assert_eq!(
            check("order.deleted", "{}"),
            Err(BadRow::UnknownType("order.deleted".into()))
        );
        assert_eq!(check("order.created", "[1]"), Err(BadRow::InvalidPayload));
        assert_eq!(check("order.created", "{"), Err(BadRow::InvalidPayload));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let s = Duration::from_secs;
        assert_eq!(redelivery_delay(s(5), 0, s(300)), s(5));
        assert_eq!(redelivery_delay(s(5), 1, s(300)), s(10));
        assert_eq!(redelivery_delay(s(5), 3, s(300)), s(40));
        assert_eq!(redelivery_delay(s(5), 10, s(300)), s(300));
        assert_eq!(redelivery_delay(s(5), 400, s(300)), s(300));
    }
}
