//! Midtrans's wire format, in one place: what the payments component sends
//! and reads, and what the local sandbox (`tools/midtrans-sandbox`) parses
//! and answers. Snap's create-transaction request and answer, the Core API
//! status answer (which is also the shape of its expire and refund answers),
//! the Core API refund request, the HTTP notification, the error body, the
//! notification signature, Basic auth and amounts as text.
//!
//! Names and JSON types are Midtrans's: the Snap request carries amounts as
//! numbers, while notifications and status answers carry every value as a
//! string, amounts included ("25000.00"). Optional fields are left out when
//! absent, never sent as `null`. Fields are declared in alphabetical order,
//! the order in which `serde_json::json!` (a sorted map) wrote them before
//! these types existed, so the bytes sent are the ones sent before.

use serde::{Deserialize, Deserializer, Serialize};
use serde_with::skip_serializing_none;

use crate::text::hex;
use crate::ServiceError;

/// Snap keeps at most this many characters of an item's name.
pub const ITEM_NAME_MAX_CHARS: usize = 50;

/// Snap's create-transaction request (`POST /snap/v1/transactions`).
/// Midtrans requires only `transaction_details`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTransaction {
    pub callbacks: Option<Callbacks>,
    pub customer_details: Option<CustomerDetails>,
    pub expiry: Option<Expiry>,
    /// When sent, Midtrans checks that the lines add up to `gross_amount`.
    pub item_details: Option<Vec<ItemDetails>>,
    pub transaction_details: TransactionDetails,
}

/// Where Snap's page sends the payer afterwards.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callbacks {
    pub finish: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerDetails {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// How long the Snap transaction can be paid: from `start_time` when sent,
/// else from its creation.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiry {
    pub duration: i64,
    /// `2026-12-06 17:00:00 +0700`: `yyyy-MM-dd HH:mm:ss Z`, with a numeric
    /// offset.
    pub start_time: Option<String>,
    /// `minute(s)`, `hour(s)` or `day(s)`.
    pub unit: String,
}

impl Expiry {
    /// `duration` hours from the transaction's creation.
    pub fn hours(duration: i64) -> Expiry {
        Expiry {
            duration,
            start_time: None,
            unit: "hours".to_string(),
        }
    }

    /// `duration` `unit`s from `start_time` (`2026-12-06 17:00:00 +0700`).
    pub fn starting(start_time: &str, duration: i64, unit: &str) -> Expiry {
        Expiry {
            duration,
            start_time: Some(start_time.to_string()),
            unit: unit.to_string(),
        }
    }
}

/// One line of a Snap transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemDetails {
    #[serde(default, deserialize_with = "text_or_number")]
    pub id: String,
    pub name: String,
    /// Whole rupiah; Midtrans allows negative prices (discounts).
    #[serde(deserialize_with = "whole")]
    pub price: i64,
    #[serde(deserialize_with = "whole")]
    pub quantity: i64,
}

impl ItemDetails {
    /// A line with its name cut to what Snap keeps.
    pub fn new(id: String, name: &str, price: i64, quantity: i64) -> ItemDetails {
        ItemDetails {
            id,
            name: name.chars().take(ITEM_NAME_MAX_CHARS).collect(),
            price,
            quantity,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionDetails {
    /// Whole rupiah, a JSON number.
    #[serde(deserialize_with = "whole")]
    pub gross_amount: i64,
    #[serde(deserialize_with = "text_or_number")]
    pub order_id: String,
}

/// Snap's answer to create-transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapCreated {
    pub redirect_url: String,
    pub token: String,
}

/// Midtrans's error body: Snap answers `{"error_messages": [...]}`, the Core
/// API `status_code` and `status_message` (sometimes with the messages too).
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MidtransErrors {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_messages: Vec<String>,
    pub status_code: Option<String>,
    pub status_message: Option<String>,
}

/// The Core API's refund request (`POST /v2/{order_id}/refund`). Sending
/// the same `refund_key` again retries the same refund, never a second one.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    /// Whole rupiah, a JSON number.
    #[serde(deserialize_with = "whole")]
    pub amount: i64,
    pub reason: Option<String>,
    pub refund_key: String,
}

/// A virtual account a bank transfer is paid into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaNumber {
    pub bank: String,
    pub va_number: String,
}

/// A Midtrans HTTP notification: the fields this platform reads and the
/// sandbox sends (Midtrans sends more, depending on the payment type; they
/// are ignored here and kept whole in the audit table).
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub currency: Option<String>,
    pub fraud_status: Option<String>,
    /// Text with two decimals, as signed: "25000.00".
    pub gross_amount: String,
    pub merchant_id: Option<String>,
    pub order_id: String,
    pub payment_type: Option<String>,
    pub settlement_time: Option<String>,
    /// Hex SHA-512, see [`signature`].
    pub signature_key: String,
    /// "200", "201", … as text.
    pub status_code: String,
    pub status_message: Option<String>,
    pub transaction_id: Option<String>,
    pub transaction_status: String,
    /// Jakarta time, `2026-12-02 13:00:00`.
    pub transaction_time: Option<String>,
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub va_numbers: Vec<VaNumber>,
}

impl Notification {
    pub fn from_json(body: &[u8]) -> Result<Notification, ServiceError> {
        let n: Notification = serde_json::from_slice(body).map_err(|_| {
            ServiceError::invalid(
                "a Midtrans notification needs order_id, status_code, gross_amount, \
                 signature_key and transaction_status as strings",
            )
        })?;
        if n.order_id.is_empty() || n.order_id.chars().count() > 100 || n.order_id.contains('\0') {
            return Err(ServiceError::invalid(
                "order_id must be 1 to 100 characters, without NUL",
            ));
        }
        Ok(n)
    }

    /// Sets `signature_key` as Midtrans does for this order id, status code
    /// and amount.
    pub fn sign(&mut self, server_key: &str) {
        self.signature_key = signature(
            &self.order_id,
            &self.status_code,
            &self.gross_amount,
            server_key,
        );
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

/// What the Core API's `GET /v2/{order_id}/status` answers. For a known
/// transaction it carries the fields of its notification (signature
/// included); for an unknown one only `status_code` "404" and a message,
/// with HTTP 404 or, at times, HTTP 200. `POST /v2/{order_id}/expire` and
/// `/refund` answer the same shape (`status_code` "407" for an expiry; a
/// refund adds `refund_key` and `refund_amount`).
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionStatus {
    pub currency: Option<String>,
    pub fraud_status: Option<String>,
    pub gross_amount: Option<String>,
    pub merchant_id: Option<String>,
    pub order_id: Option<String>,
    pub payment_type: Option<String>,
    /// Text with two decimals, like `gross_amount`: "5000.00".
    pub refund_amount: Option<String>,
    pub refund_key: Option<String>,
    pub settlement_time: Option<String>,
    pub signature_key: Option<String>,
    pub status_code: String,
    pub status_message: Option<String>,
    pub transaction_id: Option<String>,
    pub transaction_status: Option<String>,
    pub transaction_time: Option<String>,
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub va_numbers: Vec<VaNumber>,
}

impl From<Notification> for TransactionStatus {
    /// The status answer about the transaction the notification is about.
    fn from(n: Notification) -> TransactionStatus {
        TransactionStatus {
            currency: n.currency,
            fraud_status: n.fraud_status,
            gross_amount: Some(n.gross_amount),
            merchant_id: n.merchant_id,
            order_id: Some(n.order_id),
            payment_type: n.payment_type,
            refund_amount: None,
            refund_key: None,
            settlement_time: n.settlement_time,
            signature_key: Some(n.signature_key),
            status_code: n.status_code,
            status_message: n.status_message,
            transaction_id: n.transaction_id,
            transaction_status: Some(n.transaction_status),
            transaction_time: n.transaction_time,
            va_numbers: n.va_numbers,
        }
    }
}

/// Midtrans's notification signature: lower-case hex SHA-512 of
/// order_id + status_code + gross_amount + server_key.
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

/// `Authorization` for Midtrans's APIs: Basic with the server key as user
/// and an empty password.
pub fn basic_auth(server_key: &str) -> String {
    use ct_codecs::{Base64, Encoder};
    let encoded = Base64::encode_to_string(format!("{server_key}:")).unwrap_or_default();
    format!("Basic {encoded}")
}

/// The user of a Basic `Authorization` value (for Midtrans, the server key;
/// the password is ignored), None when it is not Basic credentials.
pub fn basic_auth_user(authorization: &str) -> Option<String> {
    use ct_codecs::{Base64, Decoder};
    let (scheme, credentials) = authorization.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = Base64::decode_to_vec(credentials.trim(), None).ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    String::from_utf8(decoded[..colon].to_vec()).ok()
}

/// An amount as notifications and status answers write it: "25000.00".
pub fn amount_text(rupiah: i64) -> String {
    format!("{rupiah}.00")
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

/// A JSON number that is a whole number (`12345` or `12345.0`), as Snap
/// takes amounts and quantities.
fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    crate::json::whole_number(&n).ok_or_else(|| {
        serde::de::Error::custom(format!("{n} must be whole rupiah: IDR has no minor unit"))
    })
}

/// An id sent as a string or a number (`null`: empty).
fn text_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(serde_json::Number),
    }
    Ok(match Option::<Id>::deserialize(d)? {
        Some(Id::Text(text)) => text,
        Some(Id::Number(n)) => n.to_string(),
        None => String::new(),
    })
}

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The request the payments component builds for a two-line order.
    fn snap_request(finish: Option<&str>) -> CreateTransaction {
        CreateTransaction {
            callbacks: finish.map(|f| Callbacks {
                finish: Some(f.to_string()),
            }),
            customer_details: Some(CustomerDetails {
                email: Some("budi@example.com".into()),
                first_name: Some("Budi".into()),
                last_name: None,
            }),
            expiry: Some(Expiry::hours(24)),
            item_details: Some(vec![
                ItemDetails::new("7".into(), "Kopi tubruk", 5000, 2),
                ItemDetails::new("8".into(), "Roti", 2345, 1),
            ]),
            transaction_details: TransactionDetails {
                gross_amount: 12345,
                order_id: "order-42-1-a1b2".into(),
            },
        }
    }

    #[test]
    fn the_snap_request_is_the_json_sent_before() {
        // What `create_transaction` built with `json!` before the types.
        let mut before = json!({
            "customer_details": {"email": "budi@example.com", "first_name": "Budi"},
            "expiry": {"duration": 24, "unit": "hours"},
            "item_details": [
                {"id": "7", "name": "Kopi tubruk", "price": 5000, "quantity": 2},
                {"id": "8", "name": "Roti", "price": 2345, "quantity": 1},
            ],
            "transaction_details": {"gross_amount": 12345, "order_id": "order-42-1-a1b2"},
        });
        let req = snap_request(None);
        assert_eq!(serde_json::to_value(&req).unwrap(), before);
        // Byte for byte: no `callbacks: null`, the same key order.
        assert_eq!(serde_json::to_string(&req).unwrap(), before.to_string());
        assert!(!before.to_string().contains("null"));

        before["callbacks"] = json!({"finish": "https://shop.test/orders/42"});
        let req = snap_request(Some("https://shop.test/orders/42"));
        assert_eq!(serde_json::to_string(&req).unwrap(), before.to_string());
        let parsed: CreateTransaction = serde_json::from_value(before).unwrap();
        assert_eq!(parsed, req);
    }

    #[test]
    fn an_expiry_sends_its_start_time_only_when_set() {
        let from_creation = serde_json::to_string(&Expiry::hours(24)).unwrap();
        assert_eq!(from_creation, r#"{"duration":24,"unit":"hours"}"#);
        let starting = Expiry::starting("2026-12-06 17:00:00 +0700", 30, "minutes");
        let text = serde_json::to_string(&starting).unwrap();
        assert_eq!(
            text,
            r#"{"duration":30,"start_time":"2026-12-06 17:00:00 +0700","unit":"minutes"}"#
        );
        assert_eq!(serde_json::from_str::<Expiry>(&text).unwrap(), starting);
        let parsed: Expiry = serde_json::from_str(&from_creation).unwrap();
        assert_eq!(parsed, Expiry::hours(24));
        let mut req = snap_request(None);
        req.expiry = Some(starting.clone());
        let value = serde_json::to_value(&req).unwrap();
        assert_eq!(value["expiry"]["start_time"], "2026-12-06 17:00:00 +0700");
        let back: CreateTransaction = serde_json::from_value(value).unwrap();
        assert_eq!(back.expiry, Some(starting));
    }

    #[test]
    fn refund_requests_and_answers() {
        // Midtrans's documented request: the amount a number.
        let req = RefundRequest {
            amount: 5000,
            reason: Some("for some reason".into()),
            refund_key: "reference1".into(),
        };
        let text = serde_json::to_string(&req).unwrap();
        assert_eq!(
            text,
            r#"{"amount":5000,"reason":"for some reason","refund_key":"reference1"}"#
        );
        assert_eq!(serde_json::from_str::<RefundRequest>(&text).unwrap(), req);
        let bare = RefundRequest {
            reason: None,
            ..req.clone()
        };
        assert_eq!(
            serde_json::to_string(&bare).unwrap(),
            r#"{"amount":5000,"refund_key":"reference1"}"#
        );
        for bad in [
            json!({"refund_key": "k"}),
            json!({"amount": 5000}),
            json!({"amount": "5000", "refund_key": "k"}),
            json!({"amount": 0.5, "refund_key": "k"}),
        ] {
            assert!(
                serde_json::from_value::<RefundRequest>(bad.clone()).is_err(),
                "{bad}"
            );
        }

        // The answers are status-shaped; the refund fields only when there.
        let refunded: TransactionStatus = serde_json::from_value(json!({
            "status_code": "200",
            "status_message": "Success, refund request is approved",
            "transaction_id": "447e846a-403e-47db-a5da-d7f3f06375d6",
            "order_id": "order-7-1-ab12",
            "gross_amount": "25000.00",
            "transaction_status": "refund",
            "refund_key": "reference1",
            "refund_amount": "5000.00",
            "refund_chargeback_id": 1,
        }))
        .unwrap();
        assert_eq!(refunded.refund_key.as_deref(), Some("reference1"));
        assert_eq!(
            refunded.refund_amount.as_deref().and_then(parse_amount),
            Some(5000)
        );
        let expired: TransactionStatus = serde_json::from_value(json!({
            "status_code": "407",
            "status_message": "Success, transaction has expired",
            "order_id": "order-7-1-ab12",
            "transaction_status": "expire",
        }))
        .unwrap();
        assert_eq!(expired.status_code, "407");
        assert_eq!(expired.refund_key, None);
        let text = serde_json::to_string(&expired).unwrap();
        assert!(!text.contains("refund") && !text.contains("null"), "{text}");
    }

    #[test]
    fn snap_requests_parse_as_midtrans_takes_them() {
        // Numbers for ids, whole floats for amounts, only what is required.
        let req: CreateTransaction = serde_json::from_value(json!({
            "transaction_details": {"order_id": 17, "gross_amount": 5000.0},
            "item_details": [{"id": 3, "price": 5000, "quantity": 1.0, "name": "A"}],
        }))
        .unwrap();
        assert_eq!(req.transaction_details.order_id, "17");
        assert_eq!(req.transaction_details.gross_amount, 5000);
        let items = req.item_details.unwrap();
        assert_eq!((items[0].id.as_str(), items[0].quantity), ("3", 1));
        assert_eq!(req.customer_details, None);

        for bad in [
            json!({}),
            json!({"transaction_details": {"order_id": "o"}}),
            json!({"transaction_details": {"order_id": "o", "gross_amount": "5000"}}),
            json!({"transaction_details": {"order_id": "o", "gross_amount": 0.5}}),
            json!({"transaction_details": {"order_id": "o", "gross_amount": 1},
                   "item_details": [{"price": 1, "quantity": 1}]}),
        ] {
            assert!(
                serde_json::from_value::<CreateTransaction>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        let long = "x".repeat(80);
        assert_eq!(ItemDetails::new("1".into(), &long, 1, 1).name.len(), 50);
        assert_eq!(
            ItemDetails::new("1".into(), &"é".repeat(60), 1, 1)
                .name
                .chars()
                .count(),
            50
        );
    }

    #[test]
    fn signature_is_sha512_of_the_four_fields() {
        // Midtrans's formula, SHA512(order_id + status_code + gross_amount +
        // server_key); the expected values come from coreutils' sha512sum.
        assert_eq!(
            signature(
                "Postman-1578568851",
                "200",
                "10000.00",
                "VT-server-HJMpl9HLr_ntOKt5mRONdmKj"
            ),
            "e78e2223638cb60dbdbc88d23deb9b927ac41be7263ab38758605bac834dc254\
             25705543707504bfef0802914cfa3f5f538fa308d1f9086211c420e7892ba2ba"
        );
        let s = signature("order-1", "200", "10000.00", "key");
        assert_eq!(
            s,
            "95aed0800e10e4bf0d8818a06324e4980ed2cda802592dc076f482d057f2bccf\
             22039f0919925e31b43042942e5dd03804ca986d3ce6ecfad3eb1ec252bde153"
        );
        assert_eq!(s, hex(&hmac_sha512::Hash::hash(b"order-120010000.00key")));
        let n = Notification {
            order_id: "order-1".into(),
            status_code: "200".into(),
            gross_amount: "10000.00".into(),
            signature_key: s.to_uppercase(),
            transaction_status: "settlement".into(),
            ..Notification::default()
        };
        assert!(n.signed_with("key"));
        assert!(!n.signed_with("other"));
        let tampered = Notification {
            gross_amount: "1.00".into(),
            ..n.clone()
        };
        assert!(!tampered.signed_with("key"));
    }

    /// A notification as Midtrans (and the sandbox) sends it.
    fn settlement() -> Notification {
        let mut n = Notification {
            currency: Some("IDR".into()),
            fraud_status: Some("accept".into()),
            gross_amount: amount_text(25000),
            merchant_id: Some("SANDBOX".into()),
            order_id: "order-7-1-ab12".into(),
            payment_type: Some("bank_transfer".into()),
            settlement_time: Some("2026-12-02 13:05:00".into()),
            signature_key: String::new(),
            status_code: "200".into(),
            status_message: Some("midtrans payment notification".into()),
            transaction_id: Some("9aed5972-5b6a-401e-894b-a32c91ed1a3a".into()),
            transaction_status: "settlement".into(),
            transaction_time: Some("2026-12-02 13:00:00".into()),
            va_numbers: vec![VaNumber {
                bank: "bca".into(),
                va_number: "12345678901".into(),
            }],
        };
        n.sign("SB-Mid-server-test");
        n
    }

    #[test]
    fn notifications_round_trip_signed() {
        let n = settlement();
        let body = serde_json::to_vec(&n).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        // Midtrans's types: every value a string, the amount with decimals.
        assert_eq!(value["gross_amount"], "25000.00");
        assert_eq!(value["status_code"], "200");
        assert_eq!(value["va_numbers"][0]["bank"], "bca");
        assert_eq!(
            value["signature_key"],
            signature("order-7-1-ab12", "200", "25000.00", "SB-Mid-server-test").as_str()
        );
        let back = Notification::from_json(&body).unwrap();
        assert_eq!(back, n);
        assert!(back.signed_with("SB-Mid-server-test"));
        assert!(!back.signed_with("SB-Mid-server-other"));

        // Absent options are left out, not null; the status answer about
        // the same transaction carries the same fields.
        let pending = Notification {
            fraud_status: None,
            settlement_time: None,
            va_numbers: Vec::new(),
            ..n.clone()
        };
        let text = serde_json::to_string(&pending).unwrap();
        assert!(
            !text.contains("null") && !text.contains("fraud_status"),
            "{text}"
        );
        assert!(!text.contains("va_numbers"), "{text}");
        let status = TransactionStatus::from(n.clone());
        assert_eq!(serde_json::to_value(&status).unwrap(), value);
        let status: TransactionStatus = serde_json::from_slice(&body).unwrap();
        assert_eq!(status.gross_amount.as_deref(), Some("25000.00"));
        assert_eq!(status.va_numbers, n.va_numbers);
    }

    #[test]
    fn notifications_and_status_answers_are_checked() {
        assert!(Notification::from_json(b"{}").is_err());
        assert!(Notification::from_json(b"not json").is_err());
        assert!(Notification::from_json(br#"{"order_id":1,"status_code":"200","gross_amount":"1.00","signature_key":"x","transaction_status":"settlement"}"#).is_err());
        assert!(Notification::from_json(br#"{"order_id":"o-1","status_code":200,"gross_amount":"1.00","signature_key":"x","transaction_status":"settlement"}"#).is_err());
        let ok = Notification::from_json(br#"{"order_id":"o-1","status_code":"200","gross_amount":"1.00","signature_key":"x","transaction_status":"settlement","merchant_id":"M1","va_numbers":null,"masked_card":"4811-1111"}"#).unwrap();
        assert_eq!(ok.order_id, "o-1");
        assert_eq!(ok.merchant_id.as_deref(), Some("M1"));
        let long = format!(
            r#"{{"order_id":"{}","status_code":"200","gross_amount":"1.00","signature_key":"x","transaction_status":"settlement"}}"#,
            "o".repeat(101)
        );
        assert!(Notification::from_json(long.as_bytes()).is_err());

        let unknown: TransactionStatus = serde_json::from_value(
            json!({"status_code": "404", "status_message": "Transaction doesn't exist."}),
        )
        .unwrap();
        assert_eq!(unknown.status_code, "404");
        assert_eq!(unknown.transaction_status, None);
    }

    #[test]
    fn errors_and_snap_answers() {
        let snap: MidtransErrors = serde_json::from_value(
            json!({"error_messages": ["transaction_details.order_id sudah digunakan"]}),
        )
        .unwrap();
        assert_eq!(snap.error_messages.len(), 1);
        assert_eq!(
            serde_json::to_string(&snap).unwrap(),
            r#"{"error_messages":["transaction_details.order_id sudah digunakan"]}"#
        );
        let core = MidtransErrors {
            status_code: Some("404".into()),
            status_message: Some("not found".into()),
            ..MidtransErrors::default()
        };
        assert_eq!(
            serde_json::to_string(&core).unwrap(),
            r#"{"status_code":"404","status_message":"not found"}"#
        );
        let created = SnapCreated {
            redirect_url: "https://app.sandbox.midtrans.com/snap/v4/redirection/t".into(),
            token: "t".into(),
        };
        let text = serde_json::to_string(&created).unwrap();
        assert_eq!(serde_json::from_str::<SnapCreated>(&text).unwrap(), created);
    }

    #[test]
    fn basic_auth_is_the_server_key_as_user() {
        assert_eq!(basic_auth("SB-key"), "Basic U0Ita2V5Og==");
        assert_eq!(
            basic_auth_user(&basic_auth("SB-key")).as_deref(),
            Some("SB-key")
        );
        // The password is ignored; the scheme is case-insensitive.
        assert_eq!(
            basic_auth_user("basic U0Ita2V5OnB3").as_deref(),
            Some("SB-key")
        );
        for bad in [
            "",
            "Basic",
            "Bearer U0Ita2V5Og==",
            "Basic !!!",
            "Basic U0Ita2V5",
        ] {
            assert_eq!(basic_auth_user(bad), None, "{bad}");
        }
    }

    #[test]
    fn amounts_are_whole_rupiah() {
        assert_eq!(amount_text(150000), "150000.00");
        assert_eq!(parse_amount(&amount_text(150000)), Some(150000));
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
}
