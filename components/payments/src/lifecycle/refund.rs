//! Refunds owed for money that arrived after its order had ended: asked of
//! Midtrans when the money is seen (a notification or the sweep's status
//! check) and again by each sweep until Midtrans answers; the attempt's
//! refund key makes a repeated request the same refund. An operator's
//! refund of a paid payment (`by_operator`) is owed the same way first, so
//! a Midtrans outage leaves it to the sweep rather than forgotten.

use component_support::db::Db;
use platform_core::payment::PaymentStatus;
use platform_core::ServiceError;

use super::store::{self, OperatorRefund};
use super::Gateway;
use crate::midtrans::{self, RefundOutcome};
use crate::service::db;

/// What an operator's refund came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorOutcome {
    /// Midtrans accepted every attempt's refund.
    Requested,
    /// Midtrans could not be reached: owed, the sweep asks again.
    Owed,
    /// Refunded before: nothing left.
    Refunded,
}

/// The operator's full refund of a payment (audited in the same statement
/// that marks it owed, V19). Refused by Midtrans: `bad-gateway` (and listed
/// as an anomaly); no money to return: `conflict`.
pub fn by_operator(
    actor: i64,
    payment_id: i64,
) -> Result<(PaymentStatus, OperatorOutcome), ServiceError> {
    let db = db()?;
    let attempts = match store::operator_refund(&db, payment_id, actor)? {
        OperatorRefund::Attempts { attempts, .. } => attempts,
        OperatorRefund::Refunded => {
            return Ok((PaymentStatus::Refunded, OperatorOutcome::Refunded))
        }
        OperatorRefund::Refused => {
            return Err(ServiceError::conflict(format!(
                "Midtrans refused to refund payment {payment_id}: return the money from the \
                 Midtrans dashboard"
            )))
        }
        OperatorRefund::Nothing { status } => {
            return Err(ServiceError::conflict(format!(
                "Payment {payment_id} is {status}: it holds no money to refund"
            )))
        }
        OperatorRefund::NotFound => {
            return Err(ServiceError::not_found(format!(
                "Payment {payment_id} not found"
            )))
        }
    };
    let mut outcome = OperatorOutcome::Requested;
    let mut refused = Vec::new();
    let gateway = Gateway::from_settings();
    for (gateway_order_id, amount) in attempts {
        let asked = gateway
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|g| request(&db, g, &gateway_order_id, amount, "refunded by the shop"));
        match asked {
            Ok(true) => {}
            Ok(false) => refused.push(gateway_order_id),
            Err(ServiceError::Unavailable(_)) => outcome = OperatorOutcome::Owed,
            Err(e) => return Err(e),
        }
    }
    if !refused.is_empty() {
        return Err(ServiceError::BadGateway(format!(
            "Midtrans refused to refund {}; see GET /admin/anomalies",
            refused.join(", ")
        )));
    }
    let status = store::payment_status(&db, payment_id)?;
    let status = PaymentStatus::parse(&status)
        .ok_or_else(|| ServiceError::internal(format!("payment status {status}")))?;
    Ok((status, outcome))
}

/// Asks Midtrans for the attempt's full refund; true when it accepted.
pub fn request(
    db: &Db,
    gateway: &Gateway,
    gateway_order_id: &str,
    amount: i64,
    reason: &str,
) -> Result<bool, ServiceError> {
    let outcome = midtrans::refund(
        &gateway.api_base,
        &gateway.server_key,
        gateway_order_id,
        amount,
        reason,
    )?;
    let accepted = outcome == RefundOutcome::Accepted;
    store::refund_answered(db, gateway_order_id, accepted)?;
    Ok(accepted)
}

/// What Midtrans is told about money that came after its order ended.
pub const LATE: &str = "paid after the order had ended";
/// … and about a refund the shop's operator ordered.
const ORDERED: &str = "refunded by the shop";

/// The refunds still owed, asked again (bounded per sweep).
pub fn retry_owed(db: &Db, gateway: &Gateway, limit: i32) -> Result<u32, ServiceError> {
    let mut accepted = 0;
    for owed in store::refunds_owed(db, limit)? {
        let reason = if owed.ordered { ORDERED } else { LATE };
        if request(db, gateway, &owed.gateway_order_id, owed.amount, reason)? {
            accepted += 1;
        }
    }
    Ok(accepted)
}
