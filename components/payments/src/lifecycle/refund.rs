//! Refunds owed for money that arrived after its order had ended: asked of
//! Midtrans when the money is seen (a notification or the sweep's status
//! check) and again by each sweep until Midtrans answers; the attempt's
//! refund key makes a repeated request the same refund.

use component_support::db::Db;
use platform_core::ServiceError;

use super::{store, Gateway};
use crate::midtrans::{self, RefundOutcome};

/// Asks Midtrans for the attempt's full refund; true when it accepted.
pub fn request(
    db: &Db,
    gateway: &Gateway,
    gateway_order_id: &str,
    amount: i64,
) -> Result<bool, ServiceError> {
    let outcome = midtrans::refund(
        &gateway.api_base,
        &gateway.server_key,
        gateway_order_id,
        amount,
    )?;
    let accepted = outcome == RefundOutcome::Accepted;
    store::refund_answered(db, gateway_order_id, accepted)?;
    Ok(accepted)
}

/// The refunds still owed, asked again (bounded per sweep).
pub fn retry_owed(db: &Db, gateway: &Gateway, limit: i32) -> Result<u32, ServiceError> {
    let mut accepted = 0;
    for (gateway_order_id, amount) in store::refunds_owed(db, limit)? {
        if request(db, gateway, &gateway_order_id, amount)? {
            accepted += 1;
        }
    }
    Ok(accepted)
}
