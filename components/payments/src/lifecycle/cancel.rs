//! `POST /order/{id}/cancel`: the customer ends their own unpaid order
//! through the sweep's path (ask Midtrans, close every attempt there, then
//! the payment), so a cancel and a settlement arriving together end with
//! exactly one of them.

use platform_core::lifecycle::Step;
use platform_core::order::OrderId;
use platform_core::payment::PaymentStatus;
use platform_core::ServiceError;

use super::store::{self, Ending, OrderLook};
use super::{settle, Gateway, Settled};
use crate::service::{db, Publisher};

pub fn cancel(user_id: i64, order: OrderId) -> Result<PaymentStatus, ServiceError> {
    let db = db()?;
    let not_found = || ServiceError::not_found(format!("Order {} not found", order.get()));
    let view = match store::order(&db, order.get())? {
        Some(OrderLook::Pending(view)) if view.user_id == user_id => view,
        Some(OrderLook::Ended {
            user_id: owner,
            status,
        }) if owner == user_id => return ended(order, &status),
        _ => return Err(not_found()),
    };
    let step = Step {
        ask: view
            .attempts
            .iter()
            .map(|a| a.gateway_order_id.clone())
            .collect(),
        due: true,
        next_in_secs: 0.0,
    };
    let gateway = Gateway::from_settings()?;
    let mut publisher = Publisher::default();
    match settle(
        &db,
        &gateway,
        &mut publisher,
        &view,
        &step,
        Ending::Cancelled { user_id },
    )? {
        Settled::Closed => Ok(PaymentStatus::Cancelled),
        Settled::Paid => ended(order, "paid"),
        Settled::EndedAtMidtrans { status } => ended(order, status.as_str()),
        Settled::Waiting => ended(order, "ended"),
        Settled::Final { status } => ended(order, &status),
    }
}

/// A cancel of an order that has ended: done when it was cancelled (the
/// same request again), refused otherwise.
fn ended(order: OrderId, status: &str) -> Result<PaymentStatus, ServiceError> {
    if status == "cancelled" {
        return Ok(PaymentStatus::Cancelled);
    }
    Err(ServiceError::conflict(format!(
        "Order {} is {status}; only a pending order can be cancelled",
        order.get()
    )))
}
