//! The orders service as a library component: it exports
//! `shop:platform/orders` and is composed into `orders-api` (the routes)
//! and `payment-updated-worker` (the saga's compensation) by Spin.

mod admin;
mod cached;
mod service;
mod store;

component_support::bindings!(operator "orders-service");

use component_support::wit::types::{Error, Event, PageRequest, TokenBucket};
use exports::shop::platform::orders::{Guest, ItemRequest, Order, OrderPage, PlacedOrder};
use platform_core::order::{IdempotencyKey, OrderId, OrderRequest};

struct Orders;

impl Guest for Orders {
    fn create_order(
        user_id: i64,
        items: Vec<ItemRequest>,
        idempotency_key: Option<String>,
        limit: Option<TokenBucket>,
    ) -> Result<PlacedOrder, Error> {
        // The service checks its own input: callers other than the edge exist.
        let request =
            OrderRequest::new(items.iter().map(|i| (i.product_id, i64::from(i.quantity))))?;
        let key = idempotency_key
            .map(|k| IdempotencyKey::parse(k.as_bytes()))
            .transpose()?;
        Ok(service::create(
            user_id,
            &request,
            key.as_ref(),
            limit.as_ref(),
        )?)
    }

    fn list_orders(user_id: i64, page: PageRequest) -> Result<OrderPage, Error> {
        Ok(service::list(user_id, page)?)
    }

    fn get_order(user_id: i64, order_id: i64) -> Result<Order, Error> {
        Ok(service::get(user_id, OrderId::new(order_id)?)?)
    }

    fn apply_payment_event(event: Event) -> Result<(), Error> {
        Ok(service::apply_payment_event(&event)?)
    }
}

export!(Orders);
