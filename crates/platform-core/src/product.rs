//! Product input validation and the product's JSON shapes.

use serde::{Deserialize, Serialize};

use crate::ApiError;

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 5000;
/// A trillion rupiah: any real price, and order totals stay far from i64 overflow.
pub const MAX_PRICE: i64 = 1_000_000_000_000;

/// The body of `POST /product` and `PUT /product/{id}` as sent by a client.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProductInput {
    name: String,
    #[serde(default)]
    description: Option<String>,
    price: i64,
    stock: i64,
}

/// A product as a writer may store it: every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductInput {
    pub name: String,
    pub description: String,
    pub price: i64,
    pub stock: i32,
}

impl ProductInput {
    /// Parses and validates a JSON body. Errors name the offending field.
    pub fn from_json(body: &[u8]) -> Result<ProductInput, ApiError> {
        let raw: RawProductInput = serde_json::from_slice(body)
            .map_err(|e| ApiError::invalid(format!("invalid product JSON: {e}")))?;
        ProductInput {
            name: raw.name,
            description: raw.description.unwrap_or_default(),
            price: raw.price,
            stock: i32::try_from(raw.stock)
                .map_err(|_| ApiError::invalid("stock must be between 0 and 2147483647"))?,
        }
        .validated()
    }

    /// Checks the rules the database also enforces, with clear messages.
    pub fn validated(self) -> Result<ProductInput, ApiError> {
        let name = self.name.trim().to_string();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(ApiError::invalid(format!(
                "name must be 1 to {MAX_NAME_CHARS} characters"
            )));
        }
        if self.description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(ApiError::invalid(format!(
                "description must be at most {MAX_DESCRIPTION_CHARS} characters"
            )));
        }
        if !(1..=MAX_PRICE).contains(&self.price) {
            return Err(ApiError::invalid(format!(
                "price must be a whole number of rupiah between 1 and {MAX_PRICE}"
            )));
        }
        if self.stock < 0 {
            return Err(ApiError::invalid("stock must be between 0 and 2147483647"));
        }
        Ok(ProductInput { name, ..self })
    }
}

/// A product as the API shows it (`GET /product/{id}`), and as it is cached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductJson {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub price: i64,
    pub stock: i32,
    pub created_at: String,
    pub updated_at: String,
}

/// A list entry of `GET /product` (API.md: no timestamps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductSummaryJson {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub price: i64,
    pub stock: i32,
}

impl From<&ProductJson> for ProductSummaryJson {
    fn from(p: &ProductJson) -> Self {
        ProductSummaryJson {
            id: p.id,
            name: p.name.clone(),
            description: p.description.clone(),
            price: p.price,
            stock: p.stock,
        }
    }
}

/// A cached page of the catalog: the products and the total they came with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductPageJson {
    pub products: Vec<ProductJson>,
    pub total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(body: &str) -> Result<ProductInput, ApiError> {
        ProductInput::from_json(body.as_bytes())
    }

    #[test]
    fn accepts_a_valid_product_and_trims_the_name() {
        let p =
            parse(r#"{"name":"  Kopi ","description":"beans","price":25000,"stock":3}"#).unwrap();
        assert_eq!(p.name, "Kopi");
        assert_eq!(p.description, "beans");
        assert_eq!((p.price, p.stock), (25000, 3));
    }

    #[test]
    fn description_is_optional() {
        let p = parse(r#"{"name":"Teh","price":1,"stock":0}"#).unwrap();
        assert_eq!(p.description, "");
    }

    #[test]
    fn rejects_bad_bodies_with_400() {
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
        ] {
            let err = parse(body).unwrap_err();
            assert_eq!(err.status(), 400, "{body}");
        }
    }

    #[test]
    fn messages_name_the_field() {
        let err = parse(r#"{"name":"x","price":-5,"stock":1}"#).unwrap_err();
        assert!(err.message.contains("price"), "{}", err.message);
        let err = parse(r#"{"name":"x","price":5,"stock":-1}"#).unwrap_err();
        assert!(err.message.contains("stock"), "{}", err.message);
    }

    #[test]
    fn summary_drops_timestamps() {
        let p = ProductJson {
            id: 1,
            name: "a".into(),
            description: "".into(),
            price: 2,
            stock: 3,
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
        };
        let v = serde_json::to_value(ProductSummaryJson::from(&p)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id":1,"name":"a","description":"","price":2,"stock":3})
        );
    }

    proptest! {
        #[test]
        fn any_in_range_product_is_accepted(price in 1..=MAX_PRICE, stock in 0..=i32::MAX, name in "[a-zA-Z][a-zA-Z0-9 ]{0,50}") {
            let body = serde_json::json!({"name": name, "price": price, "stock": stock}).to_string();
            let p = parse(&body).unwrap();
            prop_assert_eq!(p.price, price);
            prop_assert_eq!(p.stock, stock);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = ProductInput::from_json(&bytes);
        }
    }
}
