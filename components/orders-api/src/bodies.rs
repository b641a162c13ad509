//! The JSON bodies of the `/order` routes (API.md).

use serde::Serialize;

use crate::shop::platform::orders::{Order, OrderPage};

#[derive(Serialize)]
pub struct ItemJson {
    id: i64,
    product_id: i64,
    quantity: i32,
    price: i64,
}

#[derive(Serialize)]
pub struct OrderJson {
    id: i64,
    user_id: i64,
    total_price: i64,
    status: &'static str,
    order_items: Vec<ItemJson>,
    created_at: String,
    updated_at: String,
}

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

impl From<Order> for OrderJson {
    fn from(o: Order) -> OrderJson {
        OrderJson {
            id: o.id,
            user_id: o.user_id,
            total_price: o.total_price,
            status: o.status.as_str(),
            order_items: o
                .order_items
                .into_iter()
                .map(|i| ItemJson {
                    id: i.id,
                    product_id: i.product_id,
                    quantity: i.quantity,
                    price: i.price,
                })
                .collect(),
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
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
