//! `shop:platform/orders-admin`: every order for the operator (issue 26).
//! Each filter of the list is an index scan in `created_at` order (V19's
//! indexes; the tests EXPLAIN `OrderFilter::list_sql`, the text run here);
//! pages fetch one row more instead of counting.

use component_support::db::{self, Row};
use component_support::wit::types::{Error, PageRequest};
use platform_core::admin::{OrderFilter, SqlArg};
use platform_core::order::{OrderId, OrderStatus};
use platform_core::page::Page;
use platform_core::ServiceError;
use spin_sdk::pg4::ParameterValue;

use crate::exports::shop::orders_admin::admin::{
    Guest, OrderDetail, OrderEvent, OrderFilter as WitFilter, OrderSummary, SummaryPage,
};
use crate::service::db;
use crate::store::{self, status_from_text};
use crate::Orders;

/// Events shown with an order (an order has a handful; the bound is for
/// the one that somebody made a thousand of).
const EVENTS_PER_ORDER: i64 = 100;

impl Guest for Orders {
    fn list_orders(filter: WitFilter, page: PageRequest) -> Result<SummaryPage, Error> {
        let page = Page::new(page.page, page.page_size)?;
        Ok(list(&checked(filter)?, &page)?)
    }

    fn get_order(order_id: i64) -> Result<OrderDetail, Error> {
        Ok(detail(OrderId::new(order_id)?)?)
    }
}

/// The WIT filter checked again (callers other than the edge exist).
fn checked(filter: WitFilter) -> Result<OrderFilter, ServiceError> {
    OrderFilter::new(
        filter.status.map(OrderStatus::from),
        filter.user_id,
        filter.created_from.as_deref(),
        filter.created_to.as_deref(),
    )
}

fn list(filter: &OrderFilter, page: &Page) -> Result<SummaryPage, ServiceError> {
    let (sql, args) = filter.list_sql(page);
    let params: Vec<ParameterValue> = args
        .into_iter()
        .map(|a| match a {
            SqlArg::Text(t) => ParameterValue::Str(t),
            SqlArg::Int(n) => ParameterValue::Int64(n),
        })
        .collect();
    let rs = db()?.query(&sql, &params)?;
    let orders = rs
        .rows
        .iter()
        .map(|r| summary(&r[..]))
        .collect::<Result<Vec<_>, _>>()?;
    let (orders, has_more) = db::split_page(orders, page);
    Ok(SummaryPage { orders, has_more })
}

fn summary(row: &Row) -> Result<OrderSummary, ServiceError> {
    let status = db::text(row, 3)?;
    Ok(OrderSummary {
        id: db::int64(row, 0)?,
        user_id: db::int64(row, 1)?,
        total_price: db::int64(row, 2)?,
        status: status_from_text(&status)
            .ok_or_else(|| ServiceError::internal(format!("order status {status}")))?,
        created_at: db::timestamp(row, 4)?,
        updated_at: db::timestamp(row, 5)?,
    })
}

fn detail(id: OrderId) -> Result<OrderDetail, ServiceError> {
    let db = db()?;
    let order = store::get_any(&db, id)?
        .ok_or_else(|| ServiceError::not_found(format!("Order {} not found", id.get())))?
        .order;
    let rs = db.query(
        "SELECT event_id::text, event_type, created_at, relayed_at, consumed_at, \
         publish_attempts, relay_error FROM outbox WHERE aggregate_id = $1 \
         ORDER BY id LIMIT $2",
        &[
            ParameterValue::Int64(id.get()),
            ParameterValue::Int64(EVENTS_PER_ORDER),
        ],
    )?;
    let events = rs
        .rows
        .iter()
        .map(|r| event(&r[..]))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OrderDetail { order, events })
}

fn event(row: &Row) -> Result<OrderEvent, ServiceError> {
    Ok(OrderEvent {
        event_id: db::text(row, 0)?,
        event_type: db::text(row, 1)?,
        created_at: db::timestamp(row, 2)?,
        relayed_at: db::opt_timestamp(row, 3)?,
        consumed_at: db::opt_timestamp(row, 4)?,
        publish_attempts: db::int32(row, 5)?,
        relay_error: db::opt_text(row, 6)?,
    })
}
