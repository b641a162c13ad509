//! The saga's events as they travel on Redis channels and Kafka topics
//! (docs/events.md): the outbox payload, parsed and checked once, so a
//! worker handed garbage refuses it instead of acting on it.

use serde::Deserialize;

use crate::order::OrderId;
use crate::payment::PaymentStatus;
use crate::ServiceError;

pub const ORDER_CREATED: &str = "order.created";
pub const PAYMENT_UPDATED: &str = "payment.updated";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    OrderCreated,
    PaymentUpdated,
}

#[derive(Deserialize)]
struct Envelope {
    event_id: String,
    #[serde(rename = "type")]
    kind: String,
    order_id: i64,
    user_id: i64,
    occurred_at: String,
    /// `payment.updated` only.
    #[serde(default)]
    status: Option<String>,
}

/// A checked event; `payload` is the JSON as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event_id: String,
    pub kind: EventKind,
    pub order_id: OrderId,
    pub user_id: i64,
    pub occurred_at: String,
    pub payload: String,
}

impl Event {
    pub fn parse(bytes: &[u8]) -> Result<Event, ServiceError> {
        let payload =
            std::str::from_utf8(bytes).map_err(|_| ServiceError::invalid("event is not UTF-8"))?;
        let e: Envelope = serde_json::from_str(payload)
            .map_err(|e| ServiceError::invalid(format!("event is not an event: {e}")))?;
        let kind = match e.kind.as_str() {
            ORDER_CREATED => EventKind::OrderCreated,
            PAYMENT_UPDATED => EventKind::PaymentUpdated,
            other => {
                return Err(ServiceError::invalid(format!(
                    "unknown event type {other:?}"
                )))
            }
        };
        if !is_uuid(&e.event_id) {
            return Err(ServiceError::invalid("event_id must be a UUID"));
        }
        if kind == EventKind::PaymentUpdated
            && e.status.as_deref().and_then(PaymentStatus::parse).is_none()
        {
            return Err(ServiceError::invalid(
                "payment.updated needs a payment status",
            ));
        }
        Ok(Event {
            event_id: e.event_id,
            kind,
            order_id: OrderId::new(e.order_id)?,
            user_id: e.user_id,
            occurred_at: e.occurred_at,
            payload: payload.to_string(),
        })
    }

    /// The payment status a `payment.updated` event carries.
    pub fn payment_status(&self) -> Option<PaymentStatus> {
        serde_json::from_str::<Envelope>(&self.payload)
            .ok()?
            .status
            .as_deref()
            .and_then(PaymentStatus::parse)
    }
}

/// `8-4-4-4-12` hex digits (Postgres's `uuid` input would refuse others).
pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0b9c7c9e-6f0e-4d8a-9a57-1c3b2f4e5d6a";

    #[test]
    fn parses_both_kinds() {
        let created = format!(
            r#"{{"event_id":"{ID}","type":"order.created","order_id":7,"user_id":3,"total_price":10,"status":"pending","items":[],"occurred_at":"2026-12-02T10:00:00.000000Z"}}"#
        );
        let e = Event::parse(created.as_bytes()).unwrap();
        assert_eq!(e.kind, EventKind::OrderCreated);
        assert_eq!(e.order_id.get(), 7);
        assert_eq!(e.payload, created);
        let updated = format!(
            r#"{{"event_id":"{ID}","type":"payment.updated","order_id":7,"user_id":3,"status":"failed","occurred_at":"x"}}"#
        );
        let e = Event::parse(updated.as_bytes()).unwrap();
        assert_eq!(e.payment_status(), Some(PaymentStatus::Failed));
    }

    #[test]
    fn refuses_what_is_not_an_event() {
        for bad in [
            "".to_string(),
            "null".to_string(),
            format!(r#"{{"event_id":"{ID}","type":"other","order_id":7,"user_id":3,"occurred_at":"x"}}"#),
            r#"{"event_id":"nope","type":"order.created","order_id":7,"user_id":3,"occurred_at":"x"}"#.to_string(),
            format!(r#"{{"event_id":"{ID}","type":"order.created","order_id":0,"user_id":3,"occurred_at":"x"}}"#),
            format!(r#"{{"event_id":"{ID}","type":"payment.updated","order_id":7,"user_id":3,"status":"weird","occurred_at":"x"}}"#),
        ] {
            assert!(Event::parse(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(Event::parse(&[0xff, 0xfe]).is_err());
    }
}
