//! Cache-aside around the store, and what each committed change tells the
//! cache (and the saga) afterwards.

use component_support::cache::Cache;
use component_support::catalog_cache::{self, CachedProduct, Entry};
use component_support::config;
use component_support::db::Db;
use component_support::limiter;
use component_support::wit::types::{Event, PageInfo, PageRequest, TokenBucket};
use platform_core::event::{self, Event as SagaEvent};
use platform_core::order::{IdempotencyKey, OrderId, OrderRequest};
use platform_core::page::Page;
use platform_core::setting::DATABASE_URL;
use platform_core::ServiceError;

use crate::cached::{self, LIST_TTL_SECS, ORDER_TTL_SECS};
use crate::exports::shop::platform::orders::{Order, OrderPage, PlacedOrder};
use crate::store::{self, Consumed, Created, Stored};

pub(crate) fn db() -> Result<Db, ServiceError> {
    Db::open(&config::get(&DATABASE_URL)?)
}

fn not_found(id: OrderId) -> ServiceError {
    ServiceError::not_found(format!("Order {} not found", id.get()))
}

/// With `limit`, the caller's token is taken first, on the connection the
/// order's write-through uses: one Redis connection per order.
pub fn create(
    user_id: i64,
    request: &OrderRequest,
    key: Option<&IdempotencyKey>,
    limit: Option<&TokenBucket>,
) -> Result<PlacedOrder, ServiceError> {
    let mut cache = Cache::lazy_for("rate limiter and cache");
    let standing = limiter::take_for_caller(&mut cache, limit)?;
    let order = place(&mut cache, user_id, request, key)?;
    Ok(PlacedOrder { order, standing })
}

fn place(
    cache: &mut Cache,
    user_id: i64,
    request: &OrderRequest,
    key: Option<&IdempotencyKey>,
) -> Result<Order, ServiceError> {
    match store::create(&db()?, user_id, request, key)? {
        Created::New {
            order,
            event,
            products,
        } => {
            // Committed: the stock moved (entries written through, newer
            // wins), the user's lists and the catalog's pages changed, and
            // the event goes out — all in one round trip.
            let entries: Vec<Entry> = products.iter().filter_map(Entry::product).collect();
            let list_key = cached::list_version_key(user_id);
            let done = catalog_cache::write_through(
                cache,
                &[catalog_cache::LIST_VERSION, &list_key],
                &entries,
                Some((event::ORDER_CREATED, &event)),
            );
            if !done {
                component_support::log::warn(
                    "order.created not published now; the relay re-publishes it",
                    &format!("order {}", order.id),
                );
            }
            Ok(order)
        }
        Created::Replayed(order) => Ok(order),
        Created::ReplayedCurrent(id) => get(user_id, id),
        Created::KeyMismatch => Err(ServiceError::Unprocessable(
            "Idempotency-Key was already used with a different order".to_string(),
        )),
        Created::UnknownProduct(id) => {
            Err(ServiceError::not_found(format!("Product {id} not found")))
        }
        Created::OutOfStock { product_id, name } => Err(ServiceError::conflict(format!(
            "Not enough stock for product {product_id} ({name})"
        ))),
    }
}

pub fn get(user_id: i64, id: OrderId) -> Result<Order, ServiceError> {
    let mut cache = Cache::lazy();
    let key = cached::order_key(user_id, id.get());
    if let Some(order) = cache
        .get(&key)
        .and_then(|b| cached::read_order(&b, user_id))
    {
        return Ok(order);
    }
    let stored = store::get(&db()?, user_id, id)?.ok_or_else(|| not_found(id))?;
    if let Some(bytes) = cached::order(&stored) {
        cache.fill(&key, &bytes, ORDER_TTL_SECS);
    }
    Ok(stored.order)
}

pub fn list(user_id: i64, req: PageRequest) -> Result<OrderPage, ServiceError> {
    let page = Page::new(req.page, req.page_size)?;
    let mut cache = Cache::lazy();
    let suffix = cached::list_suffix(page.page, page.page_size);
    let prefix = cached::list_prefix(user_id);
    // The version, then the page at that version: two reads through the
    // key-value store (no TCP connect). A writer that bumps the version in
    // between retires the page this read may still return — the answer an
    // instant earlier, as with one script.
    let version = cache
        .get(&cached::list_version_key(user_id))
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .unwrap_or_else(|| "0".to_string());
    let entry = cache.get(&format!("{prefix}{version}{suffix}"));
    let hit = entry.and_then(|e| cached::read_page(&e, user_id));
    let (orders, total) = match hit {
        Some(hit) => hit,
        None => {
            let (rows, total) = store::list(&db()?, user_id, page.limit(), page.offset())?;
            // Not when the version could not be read: "0" would be a guess.
            if let Some(bytes) = cached::page(&rows, total).filter(|_| !cache.read_failed()) {
                let key = format!("{prefix}{version}{suffix}");
                cache.fill(&key, &bytes, LIST_TTL_SECS);
            }
            (rows.into_iter().map(|s| s.order).collect(), total)
        }
    };
    Ok(OrderPage {
        orders,
        info: PageInfo {
            total,
            page: page.page,
            page_size: page.page_size,
        },
    })
}

/// The saga's `payment.updated` step. Idempotent per event id; the
/// consumer's acknowledgement commits with the effect.
pub fn apply_payment_event(event: &Event) -> Result<(), ServiceError> {
    let parsed = SagaEvent::parse(event.payload.as_bytes())?;
    if parsed.kind != event::EventKind::PaymentUpdated {
        return Err(ServiceError::invalid("not a payment.updated event"));
    }
    let status = parsed
        .payment_status()
        .ok_or_else(|| ServiceError::invalid("payment.updated needs a status"))?;
    let db = db()?;
    let consumed =
        store::consume_payment_updated(&db, &parsed.event_id, parsed.order_id, status.as_str())?;
    let (user_id, released): (i64, &[CachedProduct]) = match &consumed {
        Consumed::Released { user_id, products } => (*user_id, products),
        Consumed::Updated { user_id } => (*user_id, &[]),
        Consumed::Unchanged | Consumed::Duplicate | Consumed::Ignored | Consumed::UnknownEvent => {
            log_applied(&parsed, &consumed, 0);
            return Ok(());
        }
    };
    // The order's new entry newer-wins (a slow reader's older row cannot
    // replace it), the user's lists retired, released stock written.
    let mut entries: Vec<Entry> = released.iter().filter_map(Entry::product).collect();
    if let Some(stored) = store::get(&db, user_id, parsed.order_id)? {
        entries.extend(order_entry(user_id, &stored));
    }
    let list_key = cached::list_version_key(user_id);
    let mut bump = vec![list_key.as_str()];
    if !released.is_empty() {
        bump.push(catalog_cache::LIST_VERSION);
    }
    catalog_cache::write_through(&mut Cache::lazy(), &bump, &entries, None);
    log_applied(&parsed, &consumed, released.len());
    Ok(())
}

fn log_applied(parsed: &SagaEvent, consumed: &Consumed, released_products: usize) {
    // A message whose event the outbox does not hold is forged or stray:
    // nothing changed, and it is worth a look.
    let unknown = matches!(consumed, Consumed::UnknownEvent);
    component_support::log::line(&Applied {
        level: if unknown { "warn" } else { "info" },
        msg: if unknown {
            "payment.updated ignored: the outbox holds no such event"
        } else {
            "payment.updated applied"
        },
        event_id: &parsed.event_id,
        order_id: parsed.order_id.get(),
        outcome: consumed.as_str(),
        released_products,
    });
}

fn order_entry(user_id: i64, stored: &Stored) -> Option<Entry> {
    Some(Entry {
        key: cached::order_key(user_id, stored.order.id),
        bytes: cached::order(stored)?,
        version: stored.version,
        ttl_secs: ORDER_TTL_SECS,
    })
}

#[derive(serde::Serialize)]
struct Applied<'a> {
    level: &'a str,
    msg: &'a str,
    event_id: &'a str,
    order_id: i64,
    outcome: &'a str,
    released_products: usize,
}
