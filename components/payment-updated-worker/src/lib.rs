//! Redis trigger on `payment.updated`: moves the order's status forward and,
//! on failure, expiry or cancel, releases its reserved stock exactly once
//! (the orders service dedups on the event id and acknowledges the outbox
//! row in the same statement).

component_support::bindings!("payment-updated-worker");

use platform_core::event::{EventKind, PAYMENT_UPDATED};
use spin_sdk::redis_component;

#[redis_component]
fn on_message(message: bytes::Bytes) -> Result<(), String> {
    component_support::worker::handle(PAYMENT_UPDATED, &message, EventKind::PaymentUpdated, |e| {
        shop::platform::orders::apply_payment_event(e)
    })
}
