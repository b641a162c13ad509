//! A product as a writer supplies it, and the only way to a checked one.
//!
//! `ProductFields` is what arrives (a JSON body, or the WIT record another
//! component sent); `NewProduct` can only be built by parsing it, so the
//! store, which takes `&NewProduct`, can never be handed unchecked input.

use serde::Deserialize;

use crate::{path::parse_id, text, ServiceError};

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 5000;
/// A trillion rupiah: any real price, and order totals stay far from i64 overflow.
pub const MAX_PRICE: i64 = 1_000_000_000_000;

/// A product id from a URL or another service: positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProductId(i64);

impl ProductId {
    /// Parses a path segment; anything but a positive integer is a 400.
    pub fn parse(segment: &str) -> Result<ProductId, ServiceError> {
        parse_id(segment, "product id").map(ProductId)
    }

    /// Checks an id received as a number (from another component).
    pub fn new(id: i64) -> Result<ProductId, ServiceError> {
        if id >= 1 {
            Ok(ProductId(id))
        } else {
            Err(ServiceError::invalid(
                "product id must be a positive integer",
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// Unchecked product fields, as a client or a caller sent them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductFields {
    pub name: String,
    /// Absent means empty; `null` is refused, as the OpenAPI document says
    /// (a string): one rule for the API, null only where it is documented.
    #[serde(default, deserialize_with = "present_string")]
    pub description: Option<String>,
    #[serde(deserialize_with = "crate::json::integer")]
    pub price: i64,
    #[serde(deserialize_with = "crate::json::integer")]
    pub stock: i64,
}

fn present_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// 1 to 200 characters, trimmed, no NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductName(String);

/// At most 5000 characters, no NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

/// Whole rupiah, 1 ..= 10¹².
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price(i64);

/// Units in stock, 0 ..= i32::MAX (the column is `INTEGER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stock(i32);

impl ProductName {
    pub fn parse(value: String) -> Result<ProductName, ServiceError> {
        text::field("name", value, true, true, MAX_NAME_CHARS).map(ProductName)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Description {
    pub fn parse(value: String) -> Result<Description, ServiceError> {
        text::field("description", value, false, false, MAX_DESCRIPTION_CHARS).map(Description)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Price {
    pub fn parse(value: i64) -> Result<Price, ServiceError> {
        if (1..=MAX_PRICE).contains(&value) {
            Ok(Price(value))
        } else {
            Err(ServiceError::invalid(format!(
                "price must be a whole number of rupiah between 1 and {MAX_PRICE}"
            )))
        }
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

impl Stock {
    pub fn parse(value: i64) -> Result<Stock, ServiceError> {
        match i32::try_from(value) {
            Ok(n) if n >= 0 => Ok(Stock(n)),
            _ => Err(ServiceError::invalid(
                "stock must be between 0 and 2147483647",
            )),
        }
    }
    pub fn get(self) -> i32 {
        self.0
    }
}

/// A product as a writer may store it: every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    pub name: ProductName,
    pub description: Description,
    pub price: Price,
    pub stock: Stock,
}

impl NewProduct {
    /// Checks every field; the error names the first offending one.
    pub fn parse(fields: ProductFields) -> Result<NewProduct, ServiceError> {
        Ok(NewProduct {
            name: ProductName::parse(fields.name)?,
            description: Description::parse(fields.description.unwrap_or_default())?,
            price: Price::parse(fields.price)?,
            stock: Stock::parse(fields.stock)?,
        })
    }

    /// Parses and checks a JSON body (`POST /product`, `PUT /product/{id}`).
    pub fn from_json(body: &[u8]) -> Result<NewProduct, ServiceError> {
        let fields: ProductFields = serde_json::from_slice(body)
            .map_err(|e| ServiceError::invalid(format!("invalid product JSON: {e}")))?;
        NewProduct::parse(fields)
    }
}

impl From<NewProduct> for ProductFields {
    fn from(p: NewProduct) -> ProductFields {
        ProductFields {
            name: p.name.0,
            description: Some(p.description.0),
            price: p.price.0,
            stock: i64::from(p.stock.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(body: &str) -> Result<NewProduct, ServiceError> {
        NewProduct::from_json(body.as_bytes())
    }

    fn message(err: ServiceError) -> String {
        match err {
            ServiceError::InvalidInput(m) => m,
            other => panic!("not an input error: {other:?}"),
        }
    }

    #[test]
    fn accepts_a_valid_product_and_trims_the_name() {
        let p =
            parse(r#"{"name":"  Kopi ","description":"beans","price":25000,"stock":3}"#).unwrap();
        assert_eq!(p.name.as_str(), "Kopi");
        assert_eq!(p.description.as_str(), "beans");
        assert_eq!((p.price.get(), p.stock.get()), (25000, 3));
    }

    #[test]
    fn description_is_optional_but_never_null() {
        let p = parse(r#"{"name":"Teh","price":1,"stock":0}"#).unwrap();
        assert_eq!(p.description.as_str(), "");
        assert!(parse(r#"{"name":"Teh","description":null,"price":1,"stock":0}"#).is_err());
    }

    #[test]
    fn rejects_bad_bodies_as_invalid_input() {
        for body in [
            "",
            "{",
            "null",
            "[]",
            r#"{"name":"x","price":10}"#,
            r#"{"name":"x","price":"10","stock":1}"#,
            r#"{"name":"x","price":10.5,"stock":1}"#,
            r#"{"name":"x","price":-1,"stock":1}"#,
            r#"{"name":"x","price":0,"stock":1}"#,
            r#"{"name":"x","price":10,"stock":-1}"#,
            r#"{"name":"x","price":10,"stock":3000000000}"#,
            r#"{"name":"   ","price":10,"stock":1}"#,
            r#"{"name":"x","price":1000000000001,"stock":1}"#,
            r#"{"name":"x","price":99999999999999999999,"stock":1}"#,
            r#"{"name":"x","price":10,"stock":1,"admin":true}"#,
            r#"{"name":5,"price":10,"stock":1}"#,
            r#"{"name":"a\u0000b","price":10,"stock":1}"#,
            r#"{"name":"a","description":"\u0000","price":10,"stock":1}"#,
        ] {
            message(parse(body).unwrap_err());
        }
    }

    #[test]
    fn messages_name_the_field() {
        let m = message(parse(r#"{"name":"x","price":-5,"stock":1}"#).unwrap_err());
        assert!(m.contains("price"), "{m}");
        let m = message(parse(r#"{"name":"x","price":5,"stock":-1}"#).unwrap_err());
        assert!(m.contains("stock"), "{m}");
        let m = message(parse(r#"{"name":"a\u0000","price":5,"stock":1}"#).unwrap_err());
        assert!(m.contains("name") && m.contains("NUL"), "{m}");
    }

    #[test]
    fn ids_are_positive() {
        assert_eq!(ProductId::parse("7").unwrap().get(), 7);
        assert!(ProductId::parse("0").is_err());
        assert!(ProductId::new(-3).is_err());
        assert_eq!(ProductId::new(3).unwrap().get(), 3);
    }

    #[test]
    fn a_checked_product_round_trips_through_its_fields() {
        let p = parse(r#"{"name":" Kopi","price":2,"stock":3}"#).unwrap();
        let again = NewProduct::parse(ProductFields::from(p.clone())).unwrap();
        assert_eq!(p, again);
    }

    proptest! {
        #[test]
        fn any_in_range_product_is_accepted(price in 1..=MAX_PRICE, stock in 0..=i32::MAX, name in "[a-zA-Z][a-zA-Z0-9 ]{0,50}") {
            let body = serde_json::json!({"name": name, "price": price, "stock": stock}).to_string();
            let p = parse(&body).unwrap();
            prop_assert_eq!(p.price.get(), price);
            prop_assert_eq!(p.stock.get(), stock);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = NewProduct::from_json(&bytes);
        }
    }
}
