//! The saga workers' shared step: a Redis message becomes a checked event,
//! the service handles it, and a failure is logged with the event id before
//! Spin drops the message (the relay's redelivery brings it back, and the
//! services treat a repeated event id as done).

use platform_core::event::{Event, EventKind};
use serde::Serialize;

use crate::wit::types;

impl From<Event> for types::Event {
    fn from(e: Event) -> types::Event {
        types::Event {
            event_id: e.event_id,
            kind: match e.kind {
                EventKind::OrderCreated => types::EventKind::OrderCreated,
                EventKind::PaymentUpdated => types::EventKind::PaymentUpdated,
            },
            order_id: e.order_id.get(),
            user_id: e.user_id,
            payload: e.payload,
            occurred_at: e.occurred_at,
        }
    }
}

#[derive(Serialize)]
struct Failed<'a> {
    level: &'a str,
    msg: &'a str,
    channel: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<&'a str>,
    error: &'a str,
}

/// Handles one message of `channel` with `step`; `Err` (logged) drops it.
pub fn handle(
    channel: &str,
    message: &[u8],
    expected: EventKind,
    step: impl FnOnce(&types::Event) -> Result<(), types::Error>,
) -> Result<(), String> {
    let fail = |event_id: Option<&str>, error: &str| {
        crate::log::line(&Failed {
            level: "error",
            msg: "event not handled; the relay redelivers it",
            channel,
            event_id,
            error,
        });
        Err(format!("event not handled: {error}"))
    };
    let event = match Event::parse(message) {
        Ok(e) if e.kind == expected => e,
        Ok(e) => return fail(Some(&e.event_id), "event of another channel"),
        Err(e) => return fail(None, &format!("{e:?}")),
    };
    let event = types::Event::from(event);
    match step(&event) {
        Ok(()) => Ok(()),
        Err(e) => fail(Some(&event.event_id), &format!("{e:?}")),
    }
}
