//! `POST /order/{id}/cancel`: the customer ends their own unpaid order
//! through the sweep's path (ask Midtrans, close every attempt there, then
//! the payment), so a cancel and a settlement arriving together end with
//! exactly one of them. The operator's cancel (`POST /admin/orders/{id}/
//! cancel`) is the same path for any order, audited with the close.

use component_support::cache::Cache;
use component_support::limiter;
use component_support::wit::types::{BucketStanding, TokenBucket};
use platform_core::lifecycle::Step;
use platform_core::order::OrderId;
use platform_core::payment::PaymentStatus;
use platform_core::ServiceError;

use super::store::{self, Ending, OrderLook};
use super::{settle, Gateway, Settled};
use crate::service::{db, Publisher};

/// Who cancels: the order's customer, or an operator (any order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Canceller {
    Customer(i64),
    Operator(i64),
}

impl Canceller {
    fn may_cancel(self, owner: i64) -> bool {
        match self {
            Canceller::Customer(user_id) => user_id == owner,
            Canceller::Operator(_) => true,
        }
    }

    fn operator(self) -> Option<i64> {
        match self {
            Canceller::Customer(_) => None,
            Canceller::Operator(actor) => Some(actor),
        }
    }
}

/// With `limit`, the caller's token is taken first (nothing is asked or
/// changed when it is refused), on the connection the cancel's event is
/// then published on.
pub fn cancel(
    who: Canceller,
    order: OrderId,
    limit: Option<&TokenBucket>,
) -> Result<(PaymentStatus, Option<BucketStanding>), ServiceError> {
    let mut cache = Cache::lazy_for("rate limiter and publisher");
    let standing = limiter::take_for_caller(&mut cache, limit)?;
    let status = close(who, order, Publisher::on(cache))?;
    Ok((status, standing))
}

fn close(
    who: Canceller,
    order: OrderId,
    mut publisher: Publisher,
) -> Result<PaymentStatus, ServiceError> {
    let db = db()?;
    if let Some(actor) = who.operator() {
        // Before anything is closed at Midtrans: the role checked now, and
        // the payment marked so that its ending is audited as this actor's.
        store::mark_operator_cancel(&db, order.get(), actor)?;
    }
    let not_found = || ServiceError::not_found(format!("Order {} not found", order.get()));
    let view = match store::order(&db, order.get())? {
        Some(OrderLook::Pending(view)) if who.may_cancel(view.user_id) => view,
        Some(OrderLook::Ended {
            user_id: owner,
            status,
        }) if who.may_cancel(owner) => return ended(order, &status),
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
    match settle(
        &db,
        &gateway,
        &mut publisher,
        &view,
        &step,
        Ending::Cancelled {
            user_id: view.user_id,
        },
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
