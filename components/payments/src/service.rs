//! Payments: a caller's payment and the saga's `order.created` step
//! (initiating is `initiate.rs`, Midtrans's notifications `notification.rs`).

use component_support::cache::Cache;
use component_support::config;
use component_support::db::Db;
use component_support::wit::types::Event;
use platform_core::event::{self, Event as SagaEvent, EventKind};
use platform_core::order::OrderId;
use platform_core::ServiceError;

use crate::exports::shop::platform::payments::Payment;
use crate::settings;
use crate::store;

pub(crate) fn db() -> Result<Db, ServiceError> {
    Db::open(&config::get(&settings::DATABASE_URL)?)
}

/// Payments refuse to run without a server key (never a default one).
pub(crate) fn server_key() -> Result<String, ServiceError> {
    let key = config::get(&settings::MIDTRANS_SERVER_KEY)?;
    if key.is_empty() {
        component_support::log::error("payments are off", "midtrans_server_key is empty");
        return Err(ServiceError::unavailable("Payments are not configured"));
    }
    Ok(key)
}

pub fn get_for_order(user_id: i64, order: OrderId) -> Result<Payment, ServiceError> {
    store::for_order(&db()?, user_id, order)?.ok_or_else(|| {
        ServiceError::not_found(format!("Payment for order {} not found", order.get()))
    })
}

/// The saga's `order.created` step: the order's pending payment, once.
pub fn create_pending_payment(event: &Event) -> Result<(), ServiceError> {
    let parsed = SagaEvent::parse(event.payload.as_bytes())?;
    if parsed.kind != EventKind::OrderCreated {
        return Err(ServiceError::invalid("not an order.created event"));
    }
    let outcome = store::consume_order_created(&db()?, &parsed.event_id, parsed.order_id)?;
    // A message whose event the outbox does not hold is forged or stray:
    // nothing changed, and it is worth a look.
    let unknown = outcome == store::PendingPayment::UnknownEvent;
    component_support::log::line(&Consumed {
        level: if unknown { "warn" } else { "info" },
        msg: if unknown {
            "order.created ignored: the outbox holds no such event"
        } else {
            "order.created applied"
        },
        event_id: &parsed.event_id,
        order_id: parsed.order_id.get(),
        outcome: outcome.as_str(),
    });
    Ok(())
}

#[derive(serde::Serialize)]
struct Consumed<'a> {
    level: &'a str,
    msg: &'a str,
    event_id: &'a str,
    order_id: i64,
    outcome: &'a str,
}

/// The storefront's page of the order, where Snap sends the payer back; no
/// callback when `storefront_url` is empty (an API-only deployment).
pub(crate) fn finish_url(order: OrderId) -> Result<Option<String>, ServiceError> {
    let base = config::get(&settings::STOREFRONT_URL)?;
    let base = base.trim().trim_end_matches('/');
    Ok((!base.is_empty()).then(|| format!("{base}/app/orders/{}", order.get())))
}

/// Publishes the `payment.updated` events the database just wrote, over
/// one Redis connection opened at the first (a sweep ends many orders).
/// A lost publish is not lost work: the outbox row stays unacknowledged
/// and the relay publishes it again.
#[derive(Default)]
pub(crate) struct Publisher {
    cache: Option<Cache>,
}

impl Publisher {
    /// On a connection the caller opened already (a cancel's, which took
    /// its caller's token on it): one Redis connection per request.
    pub(crate) fn on(cache: Cache) -> Publisher {
        Publisher { cache: Some(cache) }
    }

    pub(crate) fn payment_updated(&mut self, event: &str, order_id: i64) {
        if self.cache.is_none() {
            self.cache = config::get(&settings::REDIS_URL).ok().map(Cache::new);
        }
        let published = self
            .cache
            .as_mut()
            .is_some_and(|cache| cache.publish(event::PAYMENT_UPDATED, event.as_bytes()));
        if !published {
            component_support::log::warn(
                "payment.updated not published now; the relay re-publishes it",
                &format!("order {order_id}"),
            );
        }
    }
}
