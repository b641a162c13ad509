//! Redis trigger on `order.created`: creates the order's pending payment
//! (exactly once: the payments service dedups on the event id and
//! acknowledges the outbox row in the same statement).

component_support::bindings!("order-created-worker");

use platform_core::event::{EventKind, ORDER_CREATED};
use spin_sdk::redis_component;

#[redis_component]
fn on_message(message: bytes::Bytes) -> Result<(), String> {
    component_support::worker::handle(ORDER_CREATED, &message, EventKind::OrderCreated, |e| {
        shop::platform::payments::create_pending_payment(e)
    })
}
