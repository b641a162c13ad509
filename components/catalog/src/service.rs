//! Cache-aside around the store, and the WIT records.

use component_support::cache::Cache;
use component_support::config::var;
use component_support::db::Db;
use platform_core::page::Page;
use platform_core::product::{ProductInput as ValidInput, ProductJson, ProductPageJson};
use platform_core::ApiError;

use crate::cache_keys::{self, TTL_SECS};
use crate::exports::shop::platform::catalog::{Product, ProductInput, ProductPage};
use crate::shop::platform::types::{PageInfo, PageRequest};
use crate::store;

fn db() -> Result<Db, ApiError> {
    Db::open(&var("database_url")?)
}

fn cache() -> Result<Cache, ApiError> {
    Ok(Cache::new(var("redis_url")?))
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("Product {id} not found"))
}

pub fn list(req: PageRequest) -> Result<ProductPage, ApiError> {
    let page = Page::new(req.page, req.page_size)?;
    let mut cache = cache()?;
    let version = cache
        .get(cache_keys::LIST_VERSION)
        .and_then(|v| String::from_utf8(v).ok())
        .unwrap_or_else(|| "0".to_string());
    let key = cache_keys::list(&version, page.page, page.page_size);
    let cached = cache
        .get(&key)
        .and_then(|bytes| serde_json::from_slice::<ProductPageJson>(&bytes).ok());
    let data = match cached {
        Some(data) => data,
        None => {
            let (products, total) = store::list(&db()?, page.limit(), page.offset())?;
            let data = ProductPageJson { products, total };
            if let Ok(bytes) = serde_json::to_vec(&data) {
                cache.fill(&key, &bytes, TTL_SECS);
            }
            data
        }
    };
    Ok(ProductPage {
        products: data.products.into_iter().map(to_wit).collect(),
        info: PageInfo {
            total: data.total,
            page: page.page,
            page_size: page.page_size,
        },
    })
}

pub fn get(id: i64) -> Result<Product, ApiError> {
    let mut cache = cache()?;
    let key = cache_keys::product(id);
    match cache.get(&key) {
        Some(bytes) if bytes == cache_keys::TOMBSTONE => return Err(not_found(id)),
        Some(bytes) => {
            if let Ok(p) = serde_json::from_slice::<ProductJson>(&bytes) {
                return Ok(to_wit(p));
            }
        }
        None => {}
    }
    let product = store::get(&db()?, id)?.ok_or_else(|| not_found(id))?;
    if let Ok(bytes) = serde_json::to_vec(&product) {
        cache.fill(&key, &bytes, TTL_SECS);
    }
    Ok(to_wit(product))
}

pub fn create(input: ProductInput) -> Result<Product, ApiError> {
    let input = validate(input)?;
    let product = store::insert(&db()?, &input)?;
    // A new product changes every page, but no single product key.
    cache()?.incr(cache_keys::LIST_VERSION);
    Ok(to_wit(product))
}

pub fn update(id: i64, input: ProductInput) -> Result<Product, ApiError> {
    let input = validate(input)?;
    let product = store::update(&db()?, id, &input)?.ok_or_else(|| not_found(id))?;
    let mut cache = cache()?;
    if let Ok(bytes) = serde_json::to_vec(&product) {
        cache.put(&cache_keys::product(id), &bytes, TTL_SECS);
    }
    cache.incr(cache_keys::LIST_VERSION);
    Ok(to_wit(product))
}

pub fn delete(id: i64) -> Result<(), ApiError> {
    if !store::delete(&db()?, id)? {
        return Err(not_found(id));
    }
    let mut cache = cache()?;
    cache.put(&cache_keys::product(id), cache_keys::TOMBSTONE, TTL_SECS);
    cache.incr(cache_keys::LIST_VERSION);
    Ok(())
}

/// The service checks its own input: callers other than the gateway exist.
fn validate(input: ProductInput) -> Result<ValidInput, ApiError> {
    ValidInput {
        name: input.name,
        description: input.description,
        price: input.price,
        stock: input.stock,
    }
    .validated()
}

fn to_wit(p: ProductJson) -> Product {
    Product {
        id: p.id,
        name: p.name,
        description: p.description,
        price: p.price,
        stock: p.stock,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}
