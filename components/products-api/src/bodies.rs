//! The JSON bodies of the `/product` routes (API.md), from the catalog's
//! records. The list omits timestamps, as the contract says.

use serde::Serialize;

use crate::shop::platform::catalog::{Product, ProductPage};

#[derive(Serialize)]
pub struct ProductJson {
    id: i64,
    name: String,
    description: String,
    price: i64,
    stock: i32,
    created_at: String,
    updated_at: String,
}

/// `{"product": {...}}`
#[derive(Serialize)]
pub struct ProductBody {
    product: ProductJson,
}

#[derive(Serialize)]
pub struct ProductSummary {
    id: i64,
    name: String,
    description: String,
    price: i64,
    stock: i32,
}

/// `{"products": [...], "total", "page", "page_size"}`
#[derive(Serialize)]
pub struct ProductList {
    products: Vec<ProductSummary>,
    total: u64,
    page: u32,
    page_size: u32,
}

impl From<Product> for ProductBody {
    fn from(p: Product) -> ProductBody {
        ProductBody {
            product: ProductJson {
                id: p.id,
                name: p.name,
                description: p.description,
                price: p.price,
                stock: p.stock,
                created_at: p.created_at,
                updated_at: p.updated_at,
            },
        }
    }
}

impl From<Product> for ProductSummary {
    fn from(p: Product) -> ProductSummary {
        ProductSummary {
            id: p.id,
            name: p.name,
            description: p.description,
            price: p.price,
            stock: p.stock,
        }
    }
}

impl From<ProductPage> for ProductList {
    fn from(page: ProductPage) -> ProductList {
        ProductList {
            products: page
                .products
                .into_iter()
                .map(ProductSummary::from)
                .collect(),
            total: page.info.total,
            page: page.info.page,
            page_size: page.info.page_size,
        }
    }
}
