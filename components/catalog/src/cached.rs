//! The catalog's cache format, versioned: an entry written by another
//! release (a rolling deploy runs two) is a miss, never a misread. Product
//! entries are `component_support::product_cache`'s (the orders service
//! writes them too); pages and the list script are the catalog's own.

use component_support::product_cache::{CachedProduct, VERSION};
use serde::{Deserialize, Serialize};

use crate::exports::shop::platform::catalog::Product;
use crate::store::Stored;

impl From<&Stored> for CachedProduct {
    fn from(s: &Stored) -> CachedProduct {
        let p = &s.product;
        CachedProduct {
            v: VERSION,
            version: s.version,
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

fn to_product(c: CachedProduct) -> Product {
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

/// Encodes a product for the cache.
pub fn product(p: &Stored) -> Option<Vec<u8>> {
    CachedProduct::from(p).encode()
}

/// Decodes a cached product; another version or shape is a miss.
pub fn read_product(bytes: &[u8]) -> Option<Product> {
    CachedProduct::decode(bytes).map(to_product)
}

#[derive(Serialize, Deserialize)]
struct CachedPage {
    v: u32,
    products: Vec<CachedProduct>,
    total: u64,
}

pub fn page(products: &[Stored], total: u64) -> Option<Vec<u8>> {
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
        page.products.into_iter().map(to_product).collect(),
        page.total,
    ))
}

/// A list read in one round trip: a token from the client's bucket (when
/// KEYS[2] is not empty), then the list version, the page entry, the count
/// version and the total. KEYS = version key, bucket key or '', count version
/// key; ARGV = capacity, refill, page key prefix, page key suffix, total key
/// prefix. Returns {0, wait ms} when refused, else {1, version, entry or '',
/// total or '', count version}. (The page and total keys depend on the
/// versions read here, so the script names them itself: fine on one Redis,
/// not on Redis Cluster.)
pub const LIST_READ_LUA: &str = concat!(
    platform_core::token_bucket_lua_fn!(),
    r#"
if KEYS[2] ~= '' then
  local allowed, _, wait_ms = take_token(KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]))
  if allowed == 0 then return {0, wait_ms} end
end
local v = redis.call('GET', KEYS[1]) or '0'
local entry = redis.call('GET', ARGV[3] .. v .. ARGV[4]) or ''
local cv = redis.call('GET', KEYS[3]) or '0'
local total = redis.call('GET', ARGV[5] .. cv) or ''
return {1, v, entry, total, cv}
"#
);
