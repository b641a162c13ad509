//! Payments through Midtrans, as pure logic: the statuses and their one-way
//! moves, Midtrans's status mapping (API.md), gateway order ids and the
//! initiate request. Midtrans's wire format (requests, answers, the
//! notification, its signature) is [`crate::midtrans`].

use serde::Deserialize;

use crate::account::{Email, FullName};
use crate::order::{OrderId, OrderStatus};
use crate::ServiceError;

/// The payment window and the Snap transaction's expiry (API.md: 24 h).
pub const PAYMENT_WINDOW_HOURS: i64 = 24;

/// Payment statuses; `refunded` only follows `paid`; `cancelled` is the
/// customer's cancel of an unpaid order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    Pending,
    Paid,
    Failed,
    Expired,
    Cancelled,
    Refunded,
}

impl PaymentStatus {
    pub fn parse(text: &str) -> Option<PaymentStatus> {
        Some(match text {
            "pending" => PaymentStatus::Pending,
            "paid" => PaymentStatus::Paid,
            "failed" => PaymentStatus::Failed,
            "expired" => PaymentStatus::Expired,
            "cancelled" => PaymentStatus::Cancelled,
            "refunded" => PaymentStatus::Refunded,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Paid => "paid",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Expired => "expired",
            PaymentStatus::Cancelled => "cancelled",
            PaymentStatus::Refunded => "refunded",
        }
    }

    /// The only moves: pending to a final status, paid to refunded. A
    /// duplicate or late notification can never move a status back.
    pub fn can_become(self, next: PaymentStatus) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, next),
            (Pending, Paid | Failed | Expired | Cancelled) | (Paid, Refunded)
        )
    }

    /// Money arriving (`next` is paid) for a payment that had already ended
    /// unpaid: the order no longer wants it, so it is refunded (V13's
    /// `paid_late`), never applied and never ignored.
    pub fn is_paid_late(self, next: PaymentStatus) -> bool {
        use PaymentStatus::*;
        next == Paid && matches!(self, Failed | Expired | Cancelled)
    }

    /// What the order becomes when its payment reaches this status (a
    /// refund leaves the order paid: refunds are not orders' business yet).
    pub fn order_status(self) -> Option<OrderStatus> {
        match self {
            PaymentStatus::Paid => Some(OrderStatus::Paid),
            PaymentStatus::Failed => Some(OrderStatus::Failed),
            PaymentStatus::Expired => Some(OrderStatus::Expired),
            PaymentStatus::Cancelled => Some(OrderStatus::Cancelled),
            PaymentStatus::Pending | PaymentStatus::Refunded => None,
        }
    }
}

/// API.md's mapping of Midtrans's `transaction_status` (and `fraud_status`
/// for card captures). `None`: a status this platform does not act on.
pub fn midtrans_status(
    transaction_status: &str,
    fraud_status: Option<&str>,
) -> Option<PaymentStatus> {
    Some(match transaction_status {
        "settlement" => PaymentStatus::Paid,
        "capture" => match fraud_status {
            Some("accept") | None => PaymentStatus::Paid,
            Some("deny") => PaymentStatus::Failed,
            // `challenge`: the merchant must review; still pending.
            _ => PaymentStatus::Pending,
        },
        "deny" | "cancel" | "failure" => PaymentStatus::Failed,
        "expire" => PaymentStatus::Expired,
        "pending" | "authorize" => PaymentStatus::Pending,
        "refund" | "partial_refund" => PaymentStatus::Refunded,
        _ => return None,
    })
}

/// The order id sent to Midtrans for one payment attempt: unique per
/// attempt (a new Snap transaction needs a new id), and across databases
/// (`suffix` is random) so a reset dev database never collides with the
/// ids a sandbox account already saw.
pub fn gateway_order_id(order: OrderId, attempt: i32, suffix: &str) -> String {
    format!("order-{}-{attempt}-{suffix}", order.get())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InitiateFields {
    #[serde(deserialize_with = "crate::json::integer")]
    order_id: i64,
    customer_name: String,
    customer_email: String,
}

/// `POST /payment/initiate`'s body, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitiateRequest {
    pub order_id: OrderId,
    pub customer_name: FullName,
    pub customer_email: Email,
}

impl InitiateRequest {
    pub fn from_json(body: &[u8]) -> Result<InitiateRequest, ServiceError> {
        let f: InitiateFields = serde_json::from_slice(body).map_err(|_| {
            ServiceError::invalid(
                "body must be {\"order_id\": integer, \"customer_name\": string, \"customer_email\": string}",
            )
        })?;
        InitiateRequest::new(f.order_id, f.customer_name, f.customer_email)
    }

    pub fn new(
        order_id: i64,
        name: String,
        email: String,
    ) -> Result<InitiateRequest, ServiceError> {
        Ok(InitiateRequest {
            order_id: OrderId::new(order_id)?,
            customer_name: FullName::parse(name)?,
            customer_email: Email::parse(email)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midtrans_statuses_map_as_the_contract_says() {
        use PaymentStatus::*;
        for (ts, fraud, want) in [
            ("settlement", None, Some(Paid)),
            ("capture", Some("accept"), Some(Paid)),
            ("capture", Some("challenge"), Some(Pending)),
            ("capture", Some("deny"), Some(Failed)),
            ("deny", Some("deny"), Some(Failed)),
            ("cancel", None, Some(Failed)),
            ("expire", None, Some(Expired)),
            ("pending", None, Some(Pending)),
            ("refund", None, Some(Refunded)),
            ("partial_refund", None, Some(Refunded)),
            ("weird", None, None),
        ] {
            assert_eq!(midtrans_status(ts, fraud), want, "{ts} {fraud:?}");
        }
    }

    #[test]
    fn statuses_only_move_forward() {
        use PaymentStatus::*;
        let all = [Pending, Paid, Failed, Expired, Cancelled, Refunded];
        for from in all {
            for to in all {
                let allowed = matches!(
                    (from, to),
                    (Pending, Paid)
                        | (Pending, Failed)
                        | (Pending, Expired)
                        | (Pending, Cancelled)
                        | (Paid, Refunded)
                );
                assert_eq!(from.can_become(to), allowed, "{from:?} -> {to:?}");
            }
            assert_eq!(PaymentStatus::parse(from.as_str()), Some(from));
        }
        assert_eq!(Failed.order_status(), Some(OrderStatus::Failed));
        assert_eq!(Cancelled.order_status(), Some(OrderStatus::Cancelled));
        assert!(Expired.is_paid_late(Paid) && Cancelled.is_paid_late(Paid));
        assert!(!Pending.is_paid_late(Paid) && !Paid.is_paid_late(Paid));
        assert!(!Expired.is_paid_late(Failed));
        assert_eq!(Refunded.order_status(), None);
    }

    #[test]
    fn initiate_requests_are_checked() {
        assert!(InitiateRequest::from_json(
            br#"{"order_id":1,"customer_name":"A","customer_email":"a@b.co"}"#
        )
        .is_ok());
        for bad in [
            r#"{"order_id":0,"customer_name":"A","customer_email":"a@b.co"}"#,
            r#"{"order_id":1,"customer_name":"","customer_email":"a@b.co"}"#,
            r#"{"order_id":1,"customer_name":"A","customer_email":"nope"}"#,
            r#"{"order_id":"1","customer_name":"A","customer_email":"a@b.co"}"#,
            r#"{"order_id":1,"customer_name":"A"}"#,
        ] {
            assert!(InitiateRequest::from_json(bad.as_bytes()).is_err(), "{bad}");
        }
        assert_eq!(
            gateway_order_id(OrderId::new(42).unwrap(), 2, "a1b2"),
            "order-42-2-a1b2"
        );
    }
}
