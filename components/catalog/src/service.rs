//! Cache-aside around the store.

use component_support::cache::Cache;
use component_support::config::var;
use component_support::db::Db;
use component_support::wit::types::{PageInfo, PageRequest};
use platform_core::page::Page;
use platform_core::product::{NewProduct, ProductId};
use platform_core::ServiceError;

use crate::cache_keys::{self, TTL_SECS};
use crate::cached;
use crate::exports::shop::platform::catalog::{Product, ProductPage};
use crate::store;

fn db() -> Result<Db, ServiceError> {
    Db::open(&var("database_url")?)
}

fn cache() -> Result<Cache, ServiceError> {
    Ok(Cache::new(var("redis_url")?))
}

fn not_found(id: ProductId) -> ServiceError {
    ServiceError::not_found(format!("Product {} not found", id.get()))
}

pub fn list(req: PageRequest) -> Result<ProductPage, ServiceError> {
    let page = Page::new(req.page, req.page_size)?;
    let mut cache = cache()?;
    let version = cache
        .get(cache_keys::LIST_VERSION)
        .and_then(|v| String::from_utf8(v).ok())
        .unwrap_or_else(|| "0".to_string());
    let key = cache_keys::list(&version, page.page, page.page_size);
    let total_key = cache_keys::list_total(&version);
    let (entry, known_total) = cache.get_two(&key, &total_key);
    let known_total = known_total
        .and_then(|t| String::from_utf8(t).ok())
        .and_then(|t| t.parse::<u64>().ok());
    let (products, total) = match entry.and_then(|b| cached::read_page(&b)) {
        Some(hit) => hit,
        // Past the last page: empty, with no query and no cache entry.
        None if known_total.is_some_and(|t| page.offset() as u64 >= t) => {
            (Vec::new(), known_total.unwrap_or(0))
        }
        None => {
            let (rows, total) = store::list(&db()?, page.limit(), page.offset())?;
            if !rows.is_empty() {
                if let Some(bytes) = cached::page(&rows, total) {
                    cache.fill(&key, &bytes, TTL_SECS);
                }
            }
            if known_total.is_none() {
                cache.fill(&total_key, total.to_string().as_bytes(), TTL_SECS);
            }
            (rows.into_iter().map(|s| s.product).collect(), total)
        }
    };
    Ok(ProductPage {
        products,
        info: PageInfo {
            total,
            page: page.page,
            page_size: page.page_size,
        },
    })
}

pub fn get(id: ProductId) -> Result<Product, ServiceError> {
    let mut cache = cache()?;
    let key = cache_keys::product(id);
    match cache.get(&key) {
        Some(bytes) if bytes == cache_keys::TOMBSTONE => return Err(not_found(id)),
        Some(bytes) => {
            if let Some(p) = cached::read_product(&bytes) {
                return Ok(p);
            }
        }
        None => {}
    }
    let stored = store::get(&db()?, id)?.ok_or_else(|| not_found(id))?;
    if let Some(bytes) = cached::product(&stored) {
        cache.fill(&key, &bytes, TTL_SECS);
    }
    Ok(stored.product)
}

pub fn create(input: &NewProduct) -> Result<Product, ServiceError> {
    let stored = store::insert(&db()?, input)?;
    // A new product changes every page, but no single product key.
    cache()?.incr(cache_keys::LIST_VERSION);
    Ok(stored.product)
}

pub fn update(id: ProductId, input: &NewProduct) -> Result<Product, ServiceError> {
    let stored = store::update(&db()?, id, input)?.ok_or_else(|| not_found(id))?;
    let mut cache = cache()?;
    if let Some(bytes) = cached::product(&stored) {
        // Newer wins: a racing writer that committed later keeps its entry,
        // and a delete's tombstone is never replaced.
        cache.eval(
            cached::WRITE_NEWER_LUA,
            &cache_keys::product(id),
            &[
                &bytes,
                stored.version.to_string().as_bytes(),
                TTL_SECS.to_string().as_bytes(),
                cache_keys::TOMBSTONE,
            ],
        );
    }
    cache.incr(cache_keys::LIST_VERSION);
    Ok(stored.product)
}

pub fn delete(id: ProductId) -> Result<(), ServiceError> {
    if !store::delete(&db()?, id)? {
        return Err(not_found(id));
    }
    let mut cache = cache()?;
    cache.put(&cache_keys::product(id), cache_keys::TOMBSTONE, TTL_SECS);
    cache.incr(cache_keys::LIST_VERSION);
    Ok(())
}
