//! The Core API's actions on a transaction: `POST /v2/{order_id}/expire`
//! and `POST /v2/{order_id}/refund`. Each answers Midtrans's
//! status-shaped body, then sends the notification of the new status.

use std::sync::Arc;

use hyper::HeaderMap;
use platform_core::midtrans::{
    amount_text, MidtransErrors, Notification, RefundRequest, TransactionStatus,
};

use crate::api::{authorized, unauthorized, unknown_transaction};
use crate::{notification, notify, reply, Reply, Shared, Transaction};

const EXPIRED: &str = "Success, transaction has expired";
const REFUNDED: &str = "Success, refund request is approved";
const CANNOT_MODIFY: &str = "Merchant cannot modify the status of the transaction";
const INVALID: &str = "One or more parameters in the payload is invalid.";

/// 412: the transaction's status does not allow the action.
fn cannot_modify() -> Reply {
    let body = MidtransErrors {
        status_code: Some("412".into()),
        status_message: Some(CANNOT_MODIFY.into()),
        ..MidtransErrors::default()
    };
    reply(412, &body)
}

/// 400: the request's own fields are wrong, every failure listed.
fn invalid(error_messages: Vec<String>) -> Reply {
    let body = MidtransErrors {
        error_messages,
        status_code: Some("400".into()),
        status_message: Some(INVALID.into()),
    };
    reply(400, &body)
}

/// The answer about the transaction after an action: its status fields
/// without the signature, which signs the notification's status code.
fn answer(n: Notification, status_code: &str, status_message: &str) -> TransactionStatus {
    TransactionStatus {
        status_code: status_code.into(),
        status_message: Some(status_message.into()),
        signature_key: None,
        ..TransactionStatus::from(n)
    }
}

/// Sends the signed notification of the new status to `url`: in the
/// background, so the caller gets its answer first — or, when a test asked
/// for the worst order, delivered before the answer.
async fn notify(shared: &Arc<Shared>, url: String, n: &Notification) {
    let body = serde_json::to_value(n).expect("a notification is JSON");
    let first = shared.state.lock().unwrap().notify_before_answer;
    if first {
        notify::deliver(shared, &url, &n.order_id, body).await;
    } else {
        notify::deliver_later(shared, url, n.order_id.clone(), body);
    }
}

/// `POST /v2/{order_id}/expire`: a pending transaction becomes `expire`.
pub(crate) async fn expire(shared: &Arc<Shared>, headers: &HeaderMap, order_id: &str) -> Reply {
    if !authorized(shared, headers) {
        return unauthorized();
    }
    {
        let mut state = shared.state.lock().unwrap();
        *state.expire_calls.entry(order_id.to_string()).or_default() += 1;
    }
    let expired = shared.with_order(order_id, |tx| {
        (tx.transaction_status == "pending").then(|| {
            tx.record("expire", None);
            (
                tx.notification_url.clone(),
                notification(tx, &shared.server_key),
            )
        })
    });
    match expired {
        None => unknown_transaction(),
        Some(None) => cannot_modify(),
        Some(Some((url, n))) => {
            notify(shared, url, &n).await;
            reply(200, &answer(n, "407", EXPIRED))
        }
    }
}

/// What a refund request came to, decided under the lock.
enum Refund {
    /// Recorded now: notify.
    Made {
        amount: i64,
        url: String,
        notification: Notification,
    },
    /// Its `refund_key` was refunded before: the same answer, nothing new.
    Again {
        amount: i64,
        notification: Notification,
    },
    /// Not paid, or refunded already (under another key).
    NotRefundable,
    /// More than the transaction's amount.
    TooMuch { gross_amount: i64 },
}

/// Paid for good: settled, or captured with the fraud check passed.
fn refundable(tx: &Transaction) -> bool {
    match tx.transaction_status.as_str() {
        "settlement" => true,
        "capture" => tx.fraud_status.as_deref() == Some("accept"),
        _ => false,
    }
}

fn take_refund_failure(shared: &Shared) -> bool {
    let mut state = shared.state.lock().unwrap();
    let fail = state.fail_refunds > 0;
    state.fail_refunds = state.fail_refunds.saturating_sub(1);
    fail
}

/// `POST /v2/{order_id}/refund`: a paid transaction becomes `refund`,
/// once per transaction; its `refund_key` retried answers the same again.
pub(crate) async fn refund(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    order_id: &str,
    body: &[u8],
) -> Reply {
    if !authorized(shared, headers) {
        return unauthorized();
    }
    if take_refund_failure(shared) {
        let body = MidtransErrors {
            status_code: Some("503".into()),
            status_message: Some("Midtrans is temporarily unavailable".into()),
            ..MidtransErrors::default()
        };
        return reply(503, &body);
    }
    let req = match serde_json::from_slice::<RefundRequest>(body) {
        Ok(req) => req,
        // A missing field or a wrong type: serde's words name the field.
        Err(e) if e.is_data() => return invalid(vec![format!("Invalid refund request: {e}")]),
        Err(_) => return invalid(vec!["There was a problem in the JSON you submitted".into()]),
    };
    let mut errors = Vec::new();
    if req.refund_key.is_empty() {
        errors.push("refund_key is required".to_string());
    }
    if req.amount < 1 {
        errors.push("amount must be greater than 0".into());
    }
    if !errors.is_empty() {
        return invalid(errors);
    }
    let outcome = shared.with_order(order_id, |tx| {
        let earlier = tx.refunds.iter().find(|(key, _)| *key == req.refund_key);
        if let Some(&(_, amount)) = earlier {
            return Refund::Again {
                amount,
                notification: notification(tx, &shared.server_key),
            };
        }
        if !refundable(tx) {
            return Refund::NotRefundable;
        }
        if req.amount > tx.gross_amount {
            return Refund::TooMuch {
                gross_amount: tx.gross_amount,
            };
        }
        tx.refunds.push((req.refund_key.clone(), req.amount));
        let fraud = tx.fraud_status.clone();
        tx.record("refund", fraud.as_deref());
        Refund::Made {
            amount: req.amount,
            url: tx.notification_url.clone(),
            notification: notification(tx, &shared.server_key),
        }
    });
    let (amount, n) = match outcome {
        None => return unknown_transaction(),
        Some(Refund::NotRefundable) => return cannot_modify(),
        Some(Refund::TooMuch { gross_amount }) => {
            return invalid(vec![format!(
                "amount must be at most the transaction's gross_amount, {}",
                amount_text(gross_amount)
            )])
        }
        Some(Refund::Again {
            amount,
            notification,
        }) => (amount, notification),
        Some(Refund::Made {
            amount,
            url,
            notification,
        }) => {
            notify(shared, url, &notification).await;
            (amount, notification)
        }
    };
    let body = TransactionStatus {
        refund_amount: Some(amount_text(amount)),
        refund_key: Some(req.refund_key),
        ..answer(n, "200", REFUNDED)
    };
    reply(200, &body)
}
