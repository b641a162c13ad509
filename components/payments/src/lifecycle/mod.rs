//! How a pending order ends, one code path for the sweep (expiry and
//! reconciliation, `sweep.rs`) and the customer's cancel (`cancel.rs`):
//! Midtrans is asked about the order's attempts first — a paid one wins —
//! then every attempt is closed at Midtrans, and only then the payment ends
//! in the database (V13 `close_unpaid_order`), so no money can arrive for
//! an order that no longer wants it. Money that arrives anyway (it was
//! settled between the ask and the close) is refunded (`refund.rs`).

pub mod cancel;
pub mod refund;
pub(crate) mod store;
pub mod sweep;

use component_support::config;
use component_support::db::Db;
use platform_core::lifecycle::{worth_applying, OrderView, Step};
use platform_core::payment::{midtrans_status, PaymentStatus};
use platform_core::ServiceError;

use crate::midtrans::{self, ExpireOutcome};
use crate::notification::{self, Applied};
use crate::service::{server_key, Publisher};
use crate::settings;
use crate::store::Source;
use store::{CloseOutcome, Ending};

/// Midtrans's Core API, as configured (read once per sweep or cancel).
pub struct Gateway {
    pub api_base: String,
    pub server_key: String,
}

impl Gateway {
    pub fn from_settings() -> Result<Gateway, ServiceError> {
        Ok(Gateway {
            api_base: config::get(&settings::MIDTRANS_API_BASE_URL)?,
            server_key: server_key()?,
        })
    }
}

/// How a look at a pending order ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Midtrans says an attempt was paid: applied, the order is paid.
    Paid,
    /// Midtrans says the payment failed or expired: applied, as `status`
    /// (`cancelled` when it was the echo of a cancel's expire, V18).
    EndedAtMidtrans { status: PaymentStatus },
    /// Closed at Midtrans and in the database (`payment.updated` written).
    Closed,
    /// Ended before this look (`status`: the payment's or the order's).
    Final { status: String },
    /// Not due: looked at again later.
    Waiting,
}

/// One look at a pending order: asks, then closes it when `step` says it
/// is due (a cancel always is).
fn settle(
    db: &Db,
    gateway: &Gateway,
    publisher: &mut Publisher,
    view: &OrderView,
    step: &Step,
    ending: Ending,
) -> Result<Settled, ServiceError> {
    if let Some(status) = view.payment_status.filter(|s| *s != PaymentStatus::Pending) {
        // Its event is on the way to the order.
        return Ok(Settled::Final {
            status: status.as_str().to_string(),
        });
    }
    for gateway_order_id in &step.ask {
        if let Some(found) = ask(db, gateway, publisher, view, gateway_order_id)? {
            return Ok(found);
        }
    }
    if !step.due {
        store::reschedule(db, view.order_id, step.next_in_secs)?;
        return Ok(Settled::Waiting);
    }
    if let (Ending::Cancelled { user_id }, false) = (ending, view.attempts.is_empty()) {
        // Midtrans's notification of the expire below may arrive before
        // the close: it must end the payment as the customer asked.
        store::mark_cancelling(db, view.order_id, user_id)?;
    }
    for attempt in &view.attempts {
        let outcome = midtrans::expire(
            &gateway.api_base,
            &gateway.server_key,
            &attempt.gateway_order_id,
        )?;
        if outcome == ExpireOutcome::NotPending {
            // Paid (or ended) since the ask: that answer wins.
            if let Some(found) = ask(db, gateway, publisher, view, &attempt.gateway_order_id)? {
                return Ok(found);
            }
        }
    }
    match store::close(db, view.order_id, ending)? {
        CloseOutcome::Closed { event } => {
            publisher.payment_updated(&event, view.order_id);
            Ok(Settled::Closed)
        }
        CloseOutcome::Final { status } => Ok(Settled::Final { status }),
        CloseOutcome::NotFound => Err(ServiceError::not_found(format!(
            "Order {} not found",
            view.order_id
        ))),
    }
}

/// Asks Midtrans about one attempt and applies a final status it has not
/// recorded yet; `Some` when that ended the payment.
fn ask(
    db: &Db,
    gateway: &Gateway,
    publisher: &mut Publisher,
    view: &OrderView,
    gateway_order_id: &str,
) -> Result<Option<Settled>, ServiceError> {
    let Some(confirmed) =
        midtrans::status(&gateway.api_base, &gateway.server_key, gateway_order_id)?
    else {
        return Ok(None);
    };
    let mut confirmed = confirmed;
    confirmed.fraud_status.take_if(|f| f.is_empty());
    let transaction_status = confirmed.transaction_status.clone().unwrap_or_default();
    let Some(next) = midtrans_status(&transaction_status, confirmed.fraud_status.as_deref()) else {
        return Ok(None);
    };
    let known = view
        .attempts
        .iter()
        .find(|a| a.gateway_order_id == gateway_order_id)
        .and_then(|a| a.transaction_status.as_deref());
    if !worth_applying(next, &transaction_status, known) {
        return Ok(None);
    }
    let raw = serde_json::to_vec(&confirmed).unwrap_or_default();
    let applied = notification::apply(
        db,
        gateway_order_id,
        next,
        &confirmed,
        &raw,
        Source::StatusCheck,
        publisher,
    )?;
    Ok(match applied {
        Applied::Moved(PaymentStatus::Paid) => Some(Settled::Paid),
        Applied::Moved(status) => Some(Settled::EndedAtMidtrans { status }),
        Applied::RefundRequired | Applied::Unchanged => None,
    })
}
