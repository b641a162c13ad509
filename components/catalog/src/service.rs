//! Cache-aside around the store; the cache's keys, formats and scripts are
//! `component_support::catalog_cache`'s.

use component_support::cache::Cache;
use component_support::catalog_cache::{self, CachedProduct, Entry, TOMBSTONE, TTL_SECS};
use component_support::config;
use component_support::db::Db;
use component_support::limiter;
use component_support::wit::types::{Client, PageInfo, PageRequest, TokenBucket};
use platform_core::page::Page;
use platform_core::product::{NewProduct, ProductId};
use platform_core::rate_limit::Bucket;
use platform_core::setting::{self, DATABASE_URL};
use platform_core::ServiceError;

use crate::exports::shop::platform::catalog::{CreatedProduct, Product, ProductPage};
use crate::store;

fn db() -> Result<Db, ServiceError> {
    Db::open(&config::get(&DATABASE_URL)?)
}

fn not_found(id: ProductId) -> ServiceError {
    ServiceError::not_found(format!("Product {} not found", id.get()))
}

/// The list limit's name in the `RateLimit-Policy` field.
const LIST_POLICY: &str = "product-list";

/// Anonymous list reads per client address (`capacity/refill` or `off`).
const LIST_RATE_LIMIT: setting::Bucket = setting::Bucket {
    name: "list_rate_limit",
};

/// The bucket a list read by `client` takes a token from: none without a
/// client (a caller other than the HTTP edge) or with the limit `off`.
///
/// The one limit taken inside a service rather than by the edge
/// (`edge::rate_limit`): the list script takes the token and reads the
/// list's cache entries in the same `EVALSHA`, so the limit costs no Redis
/// connection or command of its own (at the edge it would cost one of
/// each, the limiter's connection being separate from the catalog's).
fn list_bucket(client: Option<&Client>) -> Result<Option<Bucket>, ServiceError> {
    let Some(client) = client else {
        return Ok(None);
    };
    let limit = config::get(&LIST_RATE_LIMIT)?;
    Ok(limit.map(|config| Bucket {
        policy: LIST_POLICY,
        key: catalog_cache::list_bucket(&client.address),
        config,
    }))
}

pub fn list(req: PageRequest, client: Option<&Client>) -> Result<ProductPage, ServiceError> {
    let page = Page::new(req.page, req.page_size)?;
    let mut cache = Cache::lazy();
    let bucket = list_bucket(client)?;
    let read = catalog_cache::read_list(&mut cache, &page, bucket.as_ref())?;
    let (products, total) = match read.page {
        Some(hit) => hit,
        // Past the last page: empty, with no query and no cache entry.
        None if read.total.is_some_and(|t| page.offset() as u64 >= t) => {
            (Vec::new(), read.total.unwrap_or(0))
        }
        None => {
            let (rows, total) = store::list(&db()?, page.limit(), page.offset(), read.total)?;
            if !rows.is_empty() {
                if let Some(bytes) = catalog_cache::encode_page(&rows, total) {
                    cache.fill(&read.page_key(&page), &bytes, TTL_SECS);
                }
            }
            if read.total.is_none() {
                cache.fill(&read.total_key(), total.to_string().as_bytes(), TTL_SECS);
            }
            (rows, total)
        }
    };
    Ok(ProductPage {
        products: products.into_iter().map(Product::from).collect(),
        info: PageInfo {
            total,
            page: page.page,
            page_size: page.page_size,
        },
    })
}

pub fn get(id: ProductId) -> Result<Product, ServiceError> {
    let mut cache = Cache::lazy();
    let key = catalog_cache::product_key(id.get());
    match cache.get(&key) {
        Some(bytes) if bytes == TOMBSTONE => return Err(not_found(id)),
        Some(bytes) => {
            if let Some(p) = CachedProduct::decode(&bytes) {
                return Ok(p.into());
            }
        }
        None => {}
    }
    let stored = store::get(&db()?, id)?.ok_or_else(|| not_found(id))?;
    if let Some(bytes) = stored.encode() {
        cache.fill(&key, &bytes, TTL_SECS);
    }
    Ok(stored.into())
}

/// What a create or delete bumps: the pages and the count.
const LISTED_PRODUCTS_CHANGED: &[&str] = &[
    catalog_cache::LIST_VERSION,
    catalog_cache::LIST_COUNT_VERSION,
];

/// With `limit`, the writer's token is taken first, on the connection the
/// write-through uses: one Redis connection per create.
pub fn create(
    input: &NewProduct,
    limit: Option<&TokenBucket>,
) -> Result<CreatedProduct, ServiceError> {
    let mut cache = Cache::lazy_for("rate limiter and cache");
    let standing = limiter::take_for_caller(&mut cache, limit)?;
    let stored = store::insert(&db()?, input)?;
    // A new product changes every page and the count, but no product key.
    catalog_cache::write_through(&mut cache, LISTED_PRODUCTS_CHANGED, &[], None);
    Ok(CreatedProduct {
        product: stored.into(),
        standing,
    })
}

pub fn update(id: ProductId, input: &NewProduct) -> Result<Product, ServiceError> {
    let stored = store::update(&db()?, id, input)?.ok_or_else(|| not_found(id))?;
    // The entry newer-wins and the list version, in one round trip.
    let entries: Vec<Entry> = Entry::product(&stored).into_iter().collect();
    catalog_cache::write_through(
        &mut Cache::lazy(),
        &[catalog_cache::LIST_VERSION],
        &entries,
        None,
    );
    Ok(stored.into())
}

pub fn delete(id: ProductId) -> Result<(), ServiceError> {
    if !store::delete(&db()?, id)? {
        return Err(not_found(id));
    }
    let mut cache = Cache::lazy();
    cache.put(&catalog_cache::product_key(id.get()), TOMBSTONE, TTL_SECS);
    catalog_cache::write_through(&mut cache, LISTED_PRODUCTS_CHANGED, &[], None);
    Ok(())
}
