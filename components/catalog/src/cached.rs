//! The catalog's cache format, versioned: an entry written by another
//! release (a rolling deploy runs two) is a miss, never a misread.

use serde::{Deserialize, Serialize};

use crate::exports::shop::platform::catalog::Product;

/// Bump when the fields below change meaning or shape.
pub const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
pub struct CachedProduct {
    v: u32,
    id: i64,
    name: String,
    description: String,
    price: i64,
    stock: i32,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize, Deserialize)]
pub struct CachedPage {
    v: u32,
    products: Vec<CachedProduct>,
    total: u64,
}

impl From<&Product> for CachedProduct {
    fn from(p: &Product) -> CachedProduct {
        CachedProduct {
            v: VERSION,
            id: p.id,
            name: p.name.clone(),
            description: p.description.clone(),
            price: p.price,
            stock: p.stock,
            created_at: p.created_at.clone(),
            updated_at: p.updated_at.clone(),
        }
    }
}

impl From<CachedProduct> for Product {
    fn from(c: CachedProduct) -> Product {
        Product {
            id: c.id,
            name: c.name,
            description: c.description,
            price: c.price,
            stock: c.stock,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// Encodes a product for the cache.
pub fn product(p: &Product) -> Option<Vec<u8>> {
    serde_json::to_vec(&CachedProduct::from(p)).ok()
}

/// Decodes a cached product; another version or shape is a miss.
pub fn read_product(bytes: &[u8]) -> Option<Product> {
    serde_json::from_slice::<CachedProduct>(bytes)
        .ok()
        .filter(|c| c.v == VERSION)
        .map(Product::from)
}

pub fn page(products: &[Product], total: u64) -> Option<Vec<u8>> {
    serde_json::to_vec(&CachedPage {
        v: VERSION,
        products: products.iter().map(CachedProduct::from).collect(),
        total,
    })
    .ok()
}

pub fn read_page(bytes: &[u8]) -> Option<(Vec<Product>, u64)> {
    let page = serde_json::from_slice::<CachedPage>(bytes)
        .ok()
        .filter(|c| c.v == VERSION)?;
    if page.products.iter().any(|p| p.v != VERSION) {
        return None;
    }
    Some((
        page.products.into_iter().map(Product::from).collect(),
        page.total,
    ))
}
