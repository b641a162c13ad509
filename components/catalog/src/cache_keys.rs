//! Redis keys of the catalog cache.
//!
//! A product key is written through by writers (`SET`) and filled by readers
//! only when absent (`SET NX`), and a deleted product leaves a tombstone: a
//! reader holding a row read before a write can never overwrite the newer
//! value.
//!
//! Lists are keyed by a version number that every write bumps: invalidating
//! all cached pages is one `INCR`, never a `KEYS`/`SCAN`, and a reader that
//! raced a write can only fill a key of the old version, which nobody reads.

use platform_core::product::ProductId;

pub use component_support::product_cache::{LIST_COUNT_VERSION, LIST_VERSION, TOMBSTONE, TTL_SECS};

pub fn product(id: ProductId) -> String {
    component_support::product_cache::key(id.get())
}

/// A list page's key is `LIST_PREFIX` + version + `page_suffix(…)` (the list
/// script builds it from the same parts).
pub const LIST_PREFIX: &str = "catalog:list:v";
/// Totals by count version (a new name: `catalog:list-total:v` held totals by
/// page version, and a release before this one may still read those).
pub const LIST_TOTAL_PREFIX: &str = "catalog:list-count:v";

pub fn page_suffix(page: u32, page_size: u32) -> String {
    format!(":{page}:{page_size}")
}

pub fn list(version: &str, page: u32, page_size: u32) -> String {
    format!("{LIST_PREFIX}{version}{}", page_suffix(page, page_size))
}

/// The number of live products as of a list *count* version
/// (`LIST_COUNT_VERSION`): lets a page past the end answer without a query,
/// and a page refill read its rows without counting them all.
pub fn list_total(version: &str) -> String {
    format!("{LIST_TOTAL_PREFIX}{version}")
}

/// Per-address bucket of anonymous list reads.
pub fn list_bucket(address: &str) -> String {
    format!("ratelimit:list:{address}")
}
