//! Redis trigger on `payment.updated`: moves the order's status forward and,
//! on failure, expiry or cancel, releases its reserved stock exactly once
//! (the orders service dedups on the event id and acknowledges the outbox
//! row in the same statement).

wit_bindgen::generate!({
    world: "payment-updated-worker",
    path: "../../wit",
    with: { "shop:platform/types@0.1.0": component_support::wit::types },
});

use platform_core::event::{EventKind, PAYMENT_UPDATED};
use spin_sdk::redis_component;

#[redis_component]
fn on_message(message: bytes::Bytes) -> Result<(), String> {
    component_support::worker::handle(PAYMENT_UPDATED, &message, EventKind::PaymentUpdated, |e| {
        shop::platform::orders::apply_payment_event(e)
    })
}
