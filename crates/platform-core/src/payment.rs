//! Payments through Midtrans, as pure logic: the statuses and their one-way
//! moves, Midtrans's status mapping (API.md), the HTTP notification and its
//! signature, amounts in Midtrans's text form, and the initiate request.

use serde::Deserialize;

use crate::account::{Email, FullName};
use crate::order::{OrderId, OrderStatus};
use crate::text::hex;
use crate::ServiceError;

/// The payment window and the Snap transaction's expiry (API.md: 24 h).
pub const PAYMENT_WINDOW_HOURS: i64 = 24;

/// Payment statuses; `refunded` only follows `paid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    Pending,
    Paid,
    Failed,
    Expired,
    Refunded,
}

impl PaymentStatus {
    pub fn parse(text: &str) -> Option<PaymentStatus> {
        Some(match text {
            "pending" => PaymentStatus::Pending,
            "paid" => PaymentStatus::Paid,
            "failed" => PaymentStatus::Failed,
            "expired" => PaymentStatus::Expired,
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
            PaymentStatus::Refunded => "refunded",
        }
    }

    /// The only moves: pending to a final status, paid to refunded. A
    /// duplicate or late notification can never move a status back.
    pub fn can_become(self, next: PaymentStatus) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, next),
            (Pending, Paid | Failed | Expired) | (Paid, Refunded)
        )
    }

    /// What the order becomes when its payment reaches this status (a
    /// refund leaves the order paid: refunds are not orders' business yet).
    pub fn order_status(self) -> Option<OrderStatus> {
        match self {
            PaymentStatus::Paid => Some(OrderStatus::Paid),
            PaymentStatus::Failed => Some(OrderStatus::Failed),
            PaymentStatus::Expired => Some(OrderStatus::Expired),
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

/// The fields of a Midtrans HTTP notification this platform reads (Midtrans
/// sends more; they are kept in the audit table, not parsed).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Notification {
    pub order_id: String,
    pub status_code: String,
    pub gross_amount: String,
    pub signature_key: String,
    pub transaction_status: String,
    #[serde(default)]
    pub fraud_status: Option<String>,
    #[serde(default)]
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub payment_type: Option<String>,
}

impl Notification {
    pub fn from_json(body: &[u8]) -> Result<Notification, ServiceError> {
        let n: Notification = serde_json::from_slice(body).map_err(|_| {
            ServiceError::invalid(
                "a Midtrans notification needs order_id, status_code, gross_amount, \
                 signature_key and transaction_status as strings",
            )
        })?;
        if n.order_id.is_empty() || n.order_id.len() > 100 {
            return Err(ServiceError::invalid(
                "order_id must be 1 to 100 characters",
            ));
        }
        Ok(n)
    }

    /// Midtrans's check, compared in constant time: the signature covers
    /// order id, status code and amount — not `transaction_status`, which is
    /// why the status is confirmed with the status API before acting.
    pub fn signed_with(&self, server_key: &str) -> bool {
        let expected = signature(
            &self.order_id,
            &self.status_code,
            &self.gross_amount,
            server_key,
        );
        let given = self.signature_key.to_ascii_lowercase();
        constant_time_eq::constant_time_eq(expected.as_bytes(), given.as_bytes())
    }
}

/// SHA-512 of order_id + status_code + gross_amount + server_key, hex.
pub fn signature(
    order_id: &str,
    status_code: &str,
    gross_amount: &str,
    server_key: &str,
) -> String {
    let mut h = hmac_sha512::Hash::new();
    for part in [order_id, status_code, gross_amount, server_key] {
        h.update(part.as_bytes());
    }
    hex(&h.finalize())
}

/// Midtrans writes amounts as text with decimals ("150000.00"); IDR has no
/// minor unit, so anything but whole rupiah is refused.
pub fn parse_amount(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (!fraction.is_empty() && !fraction.bytes().all(|b| b == b'0')) {
        return None;
    }
    if text.contains('.') && fraction.is_empty() {
        return None;
    }
    whole.parse().ok()
}

/// `Authorization` for Midtrans's APIs: Basic with the server key as user.
pub fn basic_auth(server_key: &str) -> String {
    use ct_codecs::{Base64, Encoder};
    let encoded = Base64::encode_to_string(format!("{server_key}:")).unwrap_or_default();
    format!("Basic {encoded}")
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

/// What Midtrans's status API says of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TransactionStatus {
    pub status_code: String,
    #[serde(default)]
    pub transaction_status: Option<String>,
    #[serde(default)]
    pub fraud_status: Option<String>,
    #[serde(default)]
    pub gross_amount: Option<String>,
    #[serde(default)]
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub payment_type: Option<String>,
    #[serde(default)]
    pub va_numbers: Vec<VaNumber>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VaNumber {
    pub bank: String,
    pub va_number: String,
}

/// Snap's answer to create-transaction.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SnapCreated {
    pub token: String,
    pub redirect_url: String,
}

/// Midtrans's error body (`{"error_messages": [...]}`), for logs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MidtransErrors {
    #[serde(default)]
    pub error_messages: Vec<String>,
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
        let all = [Pending, Paid, Failed, Expired, Refunded];
        for from in all {
            for to in all {
                let allowed = matches!(
                    (from, to),
                    (Pending, Paid) | (Pending, Failed) | (Pending, Expired) | (Paid, Refunded)
                );
                assert_eq!(from.can_become(to), allowed, "{from:?} -> {to:?}");
            }
            assert_eq!(PaymentStatus::parse(from.as_str()), Some(from));
        }
        assert_eq!(Failed.order_status(), Some(OrderStatus::Failed));
        assert_eq!(Refunded.order_status(), None);
    }

    #[test]
    fn signature_is_sha512_of_the_four_fields() {
        // Midtrans's documented example shape: hex of 64 bytes.
        let s = signature("order-1", "200", "10000.00", "key");
        assert_eq!(s.len(), 128);
        assert_eq!(s, hex(&hmac_sha512::Hash::hash(b"order-120010000.00key")));
        let n = Notification {
            order_id: "order-1".into(),
            status_code: "200".into(),
            gross_amount: "10000.00".into(),
            signature_key: s.to_uppercase(),
            transaction_status: "settlement".into(),
            fraud_status: None,
            transaction_id: None,
            payment_type: None,
        };
        assert!(n.signed_with("key"));
        assert!(!n.signed_with("other"));
        let tampered = Notification {
            gross_amount: "1.00".into(),
            ..n.clone()
        };
        assert!(!tampered.signed_with("key"));
    }

    #[test]
    fn amounts_are_whole_rupiah() {
        assert_eq!(parse_amount("150000.00"), Some(150000));
        assert_eq!(parse_amount("150000"), Some(150000));
        for bad in [
            "",
            "1.5",
            "1.",
            "-1.00",
            "1e3",
            "abc",
            ".00",
            "99999999999999999999",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }

    #[test]
    fn notifications_and_initiate_requests_are_checked() {
        assert!(Notification::from_json(b"{}").is_err());
        assert!(Notification::from_json(b"not json").is_err());
        assert!(Notification::from_json(br#"{"order_id":1,"status_code":"200","gross_amount":"1.00","signature_key":"x","transaction_status":"settlement"}"#).is_err());
        let ok = Notification::from_json(br#"{"order_id":"o-1","status_code":"200","gross_amount":"1.00","signature_key":"x","transaction_status":"settlement","merchant_id":"M1"}"#).unwrap();
        assert_eq!(ok.order_id, "o-1");
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
        assert_eq!(basic_auth("SB-key"), "Basic U0Ita2V5Og==");
        assert_eq!(
            gateway_order_id(OrderId::new(42).unwrap(), 2, "a1b2"),
            "order-42-2-a1b2"
        );
    }
}
