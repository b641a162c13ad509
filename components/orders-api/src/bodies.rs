//! The JSON bodies of the `/order` routes (API.md).

use edge::bodies::OrderJson;
use serde::Serialize;

use crate::shop::platform::orders::{Order, OrderPage};

/// `{"order": {...}}`
#[derive(Serialize)]
pub struct OrderBody {
    order: OrderJson,
}

/// `{"orders": [...], "total", "page", "page_size"}`
#[derive(Serialize)]
pub struct OrderList {
    orders: Vec<OrderJson>,
    total: u64,
    page: u32,
    page_size: u32,
}

impl From<Order> for OrderBody {
    fn from(o: Order) -> OrderBody {
        OrderBody { order: o.into() }
    }
}

impl From<OrderPage> for OrderList {
    fn from(p: OrderPage) -> OrderList {
        OrderList {
            orders: p.orders.into_iter().map(OrderJson::from).collect(),
            total: p.info.total,
            page: p.info.page,
            page_size: p.info.page_size,
        }
    }
}
