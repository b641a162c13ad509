//! The orders cache: keys scoped to their user (a cached order can never be
//! served to another user, the seed's leak), entries versioned like the
//! catalog's, lists behind a per-user version that every change bumps.

use serde::{Deserialize, Serialize};

use crate::exports::shop::platform::orders::Order;
use crate::store::{items, status_from_text, Stored};

/// Bump when the entry's fields change meaning or shape.
const VERSION: u32 = 1;

/// The seed's TTLs: an order 10 minutes, a list page 5.
pub const ORDER_TTL_SECS: i64 = 600;
pub const LIST_TTL_SECS: i64 = 300;

pub fn order_key(user_id: i64, order_id: i64) -> String {
    format!("orders:user:{user_id}:order:{order_id}")
}

/// Bumped on every change to the user's orders: one `INCR` retires all the
/// user's cached pages, never a scan.
pub fn list_version_key(user_id: i64) -> String {
    format!("orders:user:{user_id}:list-version")
}

/// A page's key is this prefix + version + suffix.
pub fn list_prefix(user_id: i64) -> String {
    format!("orders:user:{user_id}:list:v")
}

pub fn list_suffix(page: u32, page_size: u32) -> String {
    format!(":{page}:{page_size}")
}

#[derive(Serialize, Deserialize)]
pub struct CachedOrder {
    v: u32,
    /// The row version: writers replace only older entries.
    pub version: i64,
    id: i64,
    user_id: i64,
    total_price: i64,
    status: String,
    /// (item id, product id, quantity, price)
    items: Vec<(i64, i64, i32, i64)>,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize, Deserialize)]
struct CachedPage {
    v: u32,
    orders: Vec<CachedOrder>,
    total: u64,
}

impl From<&Stored> for CachedOrder {
    fn from(s: &Stored) -> CachedOrder {
        let o = &s.order;
        CachedOrder {
            v: VERSION,
            version: s.version,
            id: o.id,
            user_id: o.user_id,
            total_price: o.total_price,
            status: o.status.as_str().to_string(),
            items: o
                .order_items
                .iter()
                .map(|i| (i.id, i.product_id, i.quantity, i.price))
                .collect(),
            created_at: o.created_at.clone(),
            updated_at: o.updated_at.clone(),
        }
    }
}

impl CachedOrder {
    fn into_order(self) -> Option<Order> {
        Some(Order {
            id: self.id,
            user_id: self.user_id,
            total_price: self.total_price,
            status: status_from_text(&self.status)?,
            order_items: items(self.items),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub fn order(s: &Stored) -> Option<Vec<u8>> {
    serde_json::to_vec(&CachedOrder::from(s)).ok()
}

/// A cached order, only if it is `user_id`'s (the key says so; this checks).
pub fn read_order(bytes: &[u8], user_id: i64) -> Option<Order> {
    serde_json::from_slice::<CachedOrder>(bytes)
        .ok()
        .filter(|c| c.v == VERSION && c.user_id == user_id)?
        .into_order()
}

pub fn page(orders: &[Stored], total: u64) -> Option<Vec<u8>> {
    serde_json::to_vec(&CachedPage {
        v: VERSION,
        orders: orders.iter().map(CachedOrder::from).collect(),
        total,
    })
    .ok()
}

pub fn read_page(bytes: &[u8], user_id: i64) -> Option<(Vec<Order>, u64)> {
    let page = serde_json::from_slice::<CachedPage>(bytes)
        .ok()
        .filter(|p| p.v == VERSION)?;
    if page
        .orders
        .iter()
        .any(|o| o.v != VERSION || o.user_id != user_id)
    {
        return None;
    }
    let total = page.total;
    let orders = page
        .orders
        .into_iter()
        .map(CachedOrder::into_order)
        .collect::<Option<Vec<_>>>()?;
    Some((orders, total))
}
