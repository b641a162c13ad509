//! `/product` routes: HTTP ⇄ `shop:platform/catalog`.

use platform_core::page::Page;
use platform_core::product::{ProductInput, ProductJson, ProductSummaryJson};
use platform_core::{path::parse_id, ApiError};
use serde_json::json;

use crate::reply::Reply;
use crate::shop::platform::catalog::{self, Product};
use crate::shop::platform::types::PageRequest;
use crate::wit_error::from_wit;

pub fn list(query: &str) -> Result<Reply, ApiError> {
    let page = Page::from_query(query)?;
    let result = catalog::list_products(PageRequest {
        page: page.page,
        page_size: page.page_size,
    })
    .map_err(from_wit)?;
    let products: Vec<ProductSummaryJson> = result
        .products
        .into_iter()
        .map(|p| ProductSummaryJson::from(&to_json(p)))
        .collect();
    Ok(Reply::json(
        200,
        &json!({
            "products": products,
            "total": result.info.total,
            "page": result.info.page,
            "page_size": result.info.page_size,
        }),
    ))
}

pub fn get(id: &str) -> Result<Reply, ApiError> {
    let product = catalog::get_product(parse_id(id, "product id")?).map_err(from_wit)?;
    Ok(Reply::json(200, &json!({ "product": to_json(product) })))
}

pub fn create(body: &[u8]) -> Result<Reply, ApiError> {
    let input = ProductInput::from_json(body)?;
    let product = catalog::create_product(&to_wit(input)).map_err(from_wit)?;
    Ok(Reply::json(201, &json!({ "product": to_json(product) })))
}

pub fn update(id: i64, body: &[u8]) -> Result<Reply, ApiError> {
    let input = ProductInput::from_json(body)?;
    let product = catalog::update_product(id, &to_wit(input)).map_err(from_wit)?;
    Ok(Reply::json(200, &json!({ "product": to_json(product) })))
}

pub fn delete(id: &str) -> Result<Reply, ApiError> {
    catalog::delete_product(parse_id(id, "product id")?).map_err(from_wit)?;
    Ok(Reply::no_content())
}

fn to_wit(p: ProductInput) -> catalog::ProductInput {
    catalog::ProductInput {
        name: p.name,
        description: p.description,
        price: p.price,
        stock: p.stock,
    }
}

fn to_json(p: Product) -> ProductJson {
    ProductJson {
        id: p.id,
        name: p.name,
        description: p.description,
        price: p.price,
        stock: p.stock,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}
