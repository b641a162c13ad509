//! An order as a client asks for it, and the only way to a checked one
//! (groundwork for the orders service): lines merged per product, bounded
//! in count and quantity; the `Idempotency-Key` header; the status rule.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::path::parse_id;
use crate::product::ProductId;
use crate::ServiceError;

/// A checked order id (a positive integer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderId(i64);

impl OrderId {
    /// Parses a path segment; anything but a positive integer is a 400.
    pub fn parse(segment: &str) -> Result<OrderId, ServiceError> {
        parse_id(segment, "order id").map(OrderId)
    }

    /// Checks an id received as a number (a body field, another component).
    pub fn new(id: i64) -> Result<OrderId, ServiceError> {
        if id >= 1 {
            Ok(OrderId(id))
        } else {
            Err(ServiceError::invalid("order id must be a positive integer"))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// Lines per order (after merging one product's lines).
pub const MAX_LINES: usize = 100;
/// Units of one product per order: more is a typo or an attack on stock.
pub const MAX_QUANTITY: i64 = 1_000;
/// `Idempotency-Key` length (Stripe allows 255).
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemFields {
    #[serde(deserialize_with = "crate::json::integer")]
    product_id: i64,
    #[serde(deserialize_with = "crate::json::integer")]
    quantity: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderFields {
    items: Vec<ItemFields>,
}

/// One checked line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub product_id: ProductId,
    pub quantity: i32,
}

/// A checked order request: 1 to 100 lines, one per product, in product
/// order (so two requests for the same things look the same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    lines: Vec<Line>,
}

impl OrderRequest {
    pub fn from_json(body: &[u8]) -> Result<OrderRequest, ServiceError> {
        let fields: OrderFields = serde_json::from_slice(body).map_err(|_| {
            ServiceError::invalid(
                "body must be {\"items\": [{\"product_id\": integer, \"quantity\": integer}, ...]}",
            )
        })?;
        OrderRequest::new(fields.items.into_iter().map(|i| (i.product_id, i.quantity)))
    }

    /// From `(product id, quantity)` pairs as any caller sent them.
    pub fn new(items: impl IntoIterator<Item = (i64, i64)>) -> Result<OrderRequest, ServiceError> {
        let mut merged: BTreeMap<i64, i64> = BTreeMap::new();
        let mut count = 0usize;
        for (product_id, quantity) in items {
            count += 1;
            if count > MAX_LINES * 10 {
                return Err(too_many_lines());
            }
            ProductId::new(product_id)?;
            if !(1..=MAX_QUANTITY).contains(&quantity) {
                return Err(ServiceError::invalid(format!(
                    "quantity of product {product_id} must be 1 to {MAX_QUANTITY}"
                )));
            }
            let total = merged.entry(product_id).or_insert(0);
            *total += quantity;
            if *total > MAX_QUANTITY {
                return Err(ServiceError::invalid(format!(
                    "quantity of product {product_id} must be 1 to {MAX_QUANTITY}"
                )));
            }
        }
        if merged.is_empty() {
            return Err(ServiceError::invalid("an order needs at least one item"));
        }
        if merged.len() > MAX_LINES {
            return Err(too_many_lines());
        }
        Ok(OrderRequest {
            lines: merged
                .into_iter()
                .map(|(id, quantity)| Line {
                    product_id: ProductId::new(id).expect("checked above"),
                    quantity: quantity as i32,
                })
                .collect(),
        })
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// What an idempotency key remembers of the request: the same key with
    /// another request is refused (`"7x2,9x1"`, lines in product order).
    pub fn fingerprint(&self) -> String {
        self.lines
            .iter()
            .map(|l| format!("{}x{}", l.product_id.get(), l.quantity))
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn too_many_lines() -> ServiceError {
    ServiceError::invalid(format!("an order has at most {MAX_LINES} products"))
}

/// The optional `Idempotency-Key` header: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The header's bytes as sent: a value that is not visible ASCII (not
    /// even UTF-8) is refused, never taken for an absent key.
    pub fn parse(value: &[u8]) -> Result<IdempotencyKey, ServiceError> {
        let ok = (1..=MAX_IDEMPOTENCY_KEY).contains(&value.len())
            && value.iter().all(|b| b.is_ascii_graphic());
        match std::str::from_utf8(value) {
            Ok(key) if ok => Ok(IdempotencyKey(key.to_string())),
            _ => Err(ServiceError::invalid(format!(
                "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
            ))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Order statuses; they only move forward from `pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Pending,
    Paid,
    Failed,
    Expired,
    Cancelled,
}

impl OrderStatus {
    pub fn parse(text: &str) -> Option<OrderStatus> {
        Some(match text {
            "pending" => OrderStatus::Pending,
            "paid" => OrderStatus::Paid,
            "failed" => OrderStatus::Failed,
            "expired" => OrderStatus::Expired,
            "cancelled" => OrderStatus::Cancelled,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Failed => "failed",
            OrderStatus::Expired => "expired",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// Only `pending` moves, and only to a final status.
    pub fn can_become(self, next: OrderStatus) -> bool {
        self == OrderStatus::Pending && next != OrderStatus::Pending
    }

    /// Final statuses that give the reserved stock back.
    pub fn releases_stock(self) -> bool {
        matches!(
            self,
            OrderStatus::Failed | OrderStatus::Expired | OrderStatus::Cancelled
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &str) -> Result<OrderRequest, ServiceError> {
        OrderRequest::from_json(body.as_bytes())
    }

    #[test]
    fn lines_are_merged_and_ordered() {
        let r = request(
            r#"{"items":[{"product_id":9,"quantity":1},{"product_id":7,"quantity":2},{"product_id":9,"quantity":3}]}"#,
        )
        .unwrap();
        assert_eq!(r.fingerprint(), "7x2,9x4");
        assert_eq!(r.lines().len(), 2);
        let same = OrderRequest::new([(7, 1), (9, 4), (7, 1)]).unwrap();
        assert_eq!(same.fingerprint(), r.fingerprint());
    }

    #[test]
    fn bad_requests_are_refused() {
        for (body, why) in [
            (r#"{"items":[]}"#, "empty"),
            (r#"{"items":[{"product_id":1,"quantity":0}]}"#, "zero"),
            (r#"{"items":[{"product_id":1,"quantity":-2}]}"#, "negative"),
            (r#"{"items":[{"product_id":1,"quantity":1001}]}"#, "absurd"),
            (
                r#"{"items":[{"product_id":1,"quantity":600},{"product_id":1,"quantity":600}]}"#,
                "absurd once merged",
            ),
            (r#"{"items":[{"product_id":0,"quantity":1}]}"#, "bad id"),
            (
                r#"{"items":[{"product_id":"1","quantity":1}]}"#,
                "wrong type",
            ),
            (r#"{"items":[{"product_id":1}]}"#, "missing quantity"),
            (
                r#"{"items":[{"product_id":1,"quantity":1,"price":1}]}"#,
                "a price",
            ),
            (r#"{"items":[{"product_id":1,"quantity":1.5}]}"#, "fraction"),
            ("[]", "not an object"),
        ] {
            assert!(request(body).is_err(), "{why}");
        }
        let many: Vec<(i64, i64)> = (1..=101).map(|i| (i, 1)).collect();
        assert!(OrderRequest::new(many).is_err());
        let hundred: Vec<(i64, i64)> = (1..=100).map(|i| (i, 1)).collect();
        assert_eq!(OrderRequest::new(hundred).unwrap().lines().len(), 100);
    }

    #[test]
    fn idempotency_keys() {
        assert!(IdempotencyKey::parse(b"order-2026-12-02-abc").is_ok());
        for bad in ["", "has space", "tab\t", "é", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        // Latin-1 bytes (not UTF-8): refused, not taken for no key.
        assert!(IdempotencyKey::parse(b"caf\xe9").is_err());
    }

    #[test]
    fn statuses_only_move_forward() {
        use OrderStatus::*;
        for next in [Paid, Failed, Expired, Cancelled] {
            assert!(Pending.can_become(next));
            for other in [Pending, Paid, Failed, Expired, Cancelled] {
                assert!(!next.can_become(other), "{next:?} -> {other:?}");
            }
        }
        assert!(!Pending.can_become(Pending));
        assert!(Failed.releases_stock() && Expired.releases_stock() && Cancelled.releases_stock());
        assert!(!Paid.releases_stock());
        for s in [Pending, Paid, Failed, Expired, Cancelled] {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
    }
}
