//! Cache-aside around the store.

use component_support::cache::Cache;
use component_support::config::var;
use component_support::db::Db;
use component_support::product_cache::{self, CachedProduct, Entry};
use component_support::wit::types::{Client, PageInfo, PageRequest};
use platform_core::page::Page;
use platform_core::product::{NewProduct, ProductId};
use platform_core::rate_limit::{BucketConfig, Decision};
use platform_core::ServiceError;
use spin_sdk::redis::RedisResult;

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

/// The list limit's name in the `RateLimit-Policy` field.
const LIST_POLICY: &str = "product-list";

/// What the list script found (or `None` fields when Redis is away).
struct ListRead {
    version: String,
    entry: Option<Vec<u8>>,
    total: Option<u64>,
    count_version: String,
}

/// Takes a token for `client` (if any) and reads the list's cache entries in
/// one round trip. A refusal is the client's 429; Redis being away lets the
/// request through uncached (the limiter must not take the catalog down).
fn read_list(
    cache: &mut Cache,
    page: &Page,
    client: Option<&Client>,
) -> Result<ListRead, ServiceError> {
    let limit = match client {
        Some(_) => {
            BucketConfig::parse_setting(&var("list_rate_limit")?).map_err(ServiceError::internal)?
        }
        None => None,
    };
    let bucket = match (client, limit) {
        (Some(c), Some(_)) => cache_keys::list_bucket(&c.address),
        _ => String::new(),
    };
    let config = limit.unwrap_or(BucketConfig {
        capacity: 1,
        refill_per_sec: 1.0,
    });
    let [capacity, refill] = config.script_args();
    let reply = cache.eval_values(
        cached::LIST_READ_LUA,
        &[
            cache_keys::LIST_VERSION,
            &bucket,
            cache_keys::LIST_COUNT_VERSION,
        ],
        &[
            capacity.as_bytes(),
            refill.as_bytes(),
            cache_keys::LIST_PREFIX.as_bytes(),
            cache_keys::page_suffix(page.page, page.page_size).as_bytes(),
            cache_keys::LIST_TOTAL_PREFIX.as_bytes(),
        ],
    );
    let text = |v: &RedisResult| match v {
        RedisResult::Binary(b) if !b.is_empty() => Some(b.clone()),
        _ => None,
    };
    let version_text = |v: &RedisResult| {
        text(v)
            .and_then(|v| String::from_utf8(v).ok())
            .unwrap_or_else(|| "0".to_string())
    };
    match reply.as_deref() {
        Some([RedisResult::Int64(0), RedisResult::Int64(wait_ms)]) => {
            let decision = Decision {
                allowed: false,
                remaining: 0,
                wait_ms: *wait_ms,
            };
            Err(ServiceError::RateLimited(
                decision.refusal(LIST_POLICY, config),
            ))
        }
        Some([RedisResult::Int64(1), version, entry, total, count_version]) => Ok(ListRead {
            version: version_text(version),
            entry: text(entry),
            total: text(total)
                .and_then(|t| String::from_utf8(t).ok())
                .and_then(|t| t.parse().ok()),
            count_version: version_text(count_version),
        }),
        _ => Ok(ListRead {
            version: "0".to_string(),
            entry: None,
            total: None,
            count_version: "0".to_string(),
        }),
    }
}

pub fn list(req: PageRequest, client: Option<&Client>) -> Result<ProductPage, ServiceError> {
    let page = Page::new(req.page, req.page_size)?;
    let mut cache = cache()?;
    let read = read_list(&mut cache, &page, client)?;
    let (products, total) = match read.entry.and_then(|b| cached::read_page(&b)) {
        Some(hit) => hit,
        // Past the last page: empty, with no query and no cache entry.
        None if read.total.is_some_and(|t| page.offset() as u64 >= t) => {
            (Vec::new(), read.total.unwrap_or(0))
        }
        None => {
            let (rows, total) = store::list(&db()?, page.limit(), page.offset(), read.total)?;
            if !rows.is_empty() {
                if let Some(bytes) = cached::page(&rows, total) {
                    let key = cache_keys::list(&read.version, page.page, page.page_size);
                    cache.fill(&key, &bytes, TTL_SECS);
                }
            }
            if read.total.is_none() {
                let key = cache_keys::list_total(&read.count_version);
                cache.fill(&key, total.to_string().as_bytes(), TTL_SECS);
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

/// What a create or delete bumps: the pages and the count.
const LISTED_PRODUCTS_CHANGED: &[&str] =
    &[cache_keys::LIST_VERSION, cache_keys::LIST_COUNT_VERSION];

pub fn create(input: &NewProduct) -> Result<Product, ServiceError> {
    let stored = store::insert(&db()?, input)?;
    // A new product changes every page and the count, but no product key.
    product_cache::write_through(&mut cache()?, LISTED_PRODUCTS_CHANGED, &[], None);
    Ok(stored.product)
}

pub fn update(id: ProductId, input: &NewProduct) -> Result<Product, ServiceError> {
    let stored = store::update(&db()?, id, input)?.ok_or_else(|| not_found(id))?;
    // The entry newer-wins and the list version, in one round trip.
    let entries: Vec<Entry> = Entry::product(&CachedProduct::from(&stored))
        .into_iter()
        .collect();
    product_cache::write_through(&mut cache()?, &[cache_keys::LIST_VERSION], &entries, None);
    Ok(stored.product)
}

pub fn delete(id: ProductId) -> Result<(), ServiceError> {
    if !store::delete(&db()?, id)? {
        return Err(not_found(id));
    }
    let mut cache = cache()?;
    cache.put(&cache_keys::product(id), cache_keys::TOMBSTONE, TTL_SECS);
    product_cache::write_through(&mut cache, LISTED_PRODUCTS_CHANGED, &[], None);
    Ok(())
}
