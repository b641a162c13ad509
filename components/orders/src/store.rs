//! The orders' SQL: every change is one call of a function of migration V9.

use component_support::catalog_cache::CachedProduct;
use component_support::db::{self, Db, Row};
use component_support::wit::types::{Order, OrderItem, OrderStatus};
use platform_core::order::{IdempotencyKey, OrderId, OrderRequest};
use platform_core::ServiceError;
use serde::Deserialize;
use spin_sdk::pg4::ParameterValue;

/// An order and its row version (for newer-wins cache writes).
pub struct Stored {
    pub order: Order,
    pub version: i64,
}

pub fn status_from_text(s: &str) -> Option<OrderStatus> {
    platform_core::order::OrderStatus::parse(s).map(OrderStatus::from)
}

/// Order items from `(id, product id, quantity, price)` rows (the SQL's
/// JSON, the cache entry's and the event's shape).
pub fn items(rows: impl IntoIterator<Item = (i64, i64, i32, i64)>) -> Vec<OrderItem> {
    rows.into_iter()
        .map(|(id, product_id, quantity, price)| OrderItem {
            id,
            product_id,
            quantity,
            price,
        })
        .collect()
}

/// The columns of an order with its items as JSON (one query, no N+1).
const COLUMNS: &str = "o.id, o.user_id, o.total_price, o.status, o.created_at, o.updated_at, \
     o.version, (SELECT coalesce(json_agg(json_build_array(i.id, i.product_id, i.quantity, \
     i.price) ORDER BY i.product_id), '[]')::text FROM order_items i WHERE i.order_id = o.id)";

impl TryFrom<&Row> for Stored {
    type Error = ServiceError;

    fn try_from(row: &Row) -> Result<Stored, ServiceError> {
        let status = db::text(row, 3)?;
        let rows: Vec<(i64, i64, i32, i64)> = serde_json::from_str(&db::text(row, 7)?)
            .map_err(|e| ServiceError::internal(format!("order items: {e}")))?;
        Ok(Stored {
            order: Order {
                id: db::int64(row, 0)?,
                user_id: db::int64(row, 1)?,
                total_price: db::int64(row, 2)?,
                status: status_from_text(&status)
                    .ok_or_else(|| ServiceError::internal(format!("order status {status}")))?,
                order_items: self::items(rows),
                created_at: db::timestamp(row, 4)?,
                updated_at: db::timestamp(row, 5)?,
            },
            version: db::int64(row, 6)?,
        })
    }
}

/// The caller's order; `None` when unknown or another user's.
pub fn get(db: &Db, user_id: i64, id: OrderId) -> Result<Option<Stored>, ServiceError> {
    let sql = format!("SELECT {COLUMNS} FROM orders o WHERE o.id = $1 AND o.user_id = $2");
    let rs = db.query(
        &sql,
        &[
            ParameterValue::Int64(id.get()),
            ParameterValue::Int64(user_id),
        ],
    )?;
    rs.rows
        .first()
        .map(|r| Stored::try_from(&r[..]))
        .transpose()
}

/// Any order, whoever's (the operator's view); `None` when unknown.
pub fn get_any(db: &Db, id: OrderId) -> Result<Option<Stored>, ServiceError> {
    let sql = format!("SELECT {COLUMNS} FROM orders o WHERE o.id = $1");
    let rs = db.query(&sql, &[ParameterValue::Int64(id.get())])?;
    rs.rows
        .first()
        .map(|r| Stored::try_from(&r[..]))
        .transpose()
}

/// A page of the user's orders, newest first, and how many they have.
pub fn list(
    db: &Db,
    user_id: i64,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Stored>, u64), ServiceError> {
    let sql = format!(
        "SELECT {COLUMNS}, count(*) OVER () AS total FROM orders o WHERE o.user_id = $1 \
         ORDER BY o.created_at DESC, o.id DESC LIMIT $2 OFFSET $3"
    );
    let rs = db.query(
        &sql,
        &[
            ParameterValue::Int64(user_id),
            ParameterValue::Int64(limit),
            ParameterValue::Int64(offset),
        ],
    )?;
    let orders = rs
        .rows
        .iter()
        .map(|r| Stored::try_from(&r[..]))
        .collect::<Result<Vec<_>, _>>()?;
    let count = "SELECT count(*) FROM orders WHERE user_id = $1";
    let total = db::page_total(db, &rs, offset, count, &[ParameterValue::Int64(user_id)])?;
    Ok((orders, total))
}

/// What `create_order` did.
pub enum Created {
    /// The new order (from the event payload), its event, and the
    /// products whose stock moved.
    New {
        order: Order,
        event: String,
        products: Vec<CachedProduct>,
    },
    /// The key's earlier order, as it was first answered.
    Replayed(Order),
    /// The key's earlier order, whose creation event is no longer kept.
    ReplayedCurrent(OrderId),
    KeyMismatch,
    UnknownProduct(i64),
    OutOfStock {
        product_id: i64,
        name: String,
    },
}

/// The `order.created` payload (V9), enough to answer without a read.
#[derive(Deserialize)]
struct CreatedEvent {
    order_id: i64,
    user_id: i64,
    total_price: i64,
    items: Vec<EventItem>,
    occurred_at: String,
}

#[derive(Deserialize)]
struct EventItem {
    id: i64,
    product_id: i64,
    quantity: i32,
    price: i64,
}

pub fn create(
    db: &Db,
    user_id: i64,
    request: &OrderRequest,
    key: Option<&IdempotencyKey>,
) -> Result<Created, ServiceError> {
    let lines = request.lines();
    let rs = db.query(
        "SELECT outcome, order_id, product_id, stock, version, event, name, description, \
         price, created_at, updated_at FROM create_order($1, $2, $3, $4, $5)",
        &[
            ParameterValue::Int64(user_id),
            ParameterValue::ArrayInt64(lines.iter().map(|l| Some(l.product_id.get())).collect()),
            ParameterValue::ArrayInt32(lines.iter().map(|l| Some(l.quantity)).collect()),
            key.map_or(ParameterValue::DbNull, |k| {
                ParameterValue::Str(k.as_str().to_string())
            }),
            ParameterValue::Str(request.fingerprint()),
        ],
    )?;
    let first = rs
        .rows
        .first()
        .ok_or_else(|| ServiceError::internal("create_order returned no row"))?;
    match db::text(first, 0)?.as_str() {
        "created" => {
            let event = db::text(first, 5)?;
            let order = order_from_event(&event)?;
            let products = CachedProduct::from_rows(&rs)?;
            Ok(Created::New {
                order,
                event,
                products,
            })
        }
        "replayed" => match db::opt_text(first, 5)? {
            Some(event) => Ok(Created::Replayed(order_from_event(&event)?)),
            // The event row is gone (outbox pruned): the order as it is now.
            None => Ok(Created::ReplayedCurrent(OrderId::new(db::int64(
                first, 1,
            )?)?)),
        },
        "key_mismatch" => Ok(Created::KeyMismatch),
        "unknown_product" => Ok(Created::UnknownProduct(db::int64(first, 2)?)),
        "out_of_stock" => Ok(Created::OutOfStock {
            product_id: db::int64(first, 2)?,
            name: db::text(first, 6)?,
        }),
        other => Err(ServiceError::internal(format!(
            "create_order outcome {other}"
        ))),
    }
}

/// The order as its `order.created` payload describes it: what the first
/// response said (status pending, never updated).
fn order_from_event(event: &str) -> Result<Order, ServiceError> {
    let e: CreatedEvent = serde_json::from_str(event)
        .map_err(|e| ServiceError::internal(format!("order.created payload: {e}")))?;
    Ok(Order {
        id: e.order_id,
        user_id: e.user_id,
        total_price: e.total_price,
        status: OrderStatus::Pending,
        order_items: items(
            e.items
                .into_iter()
                .map(|i| (i.id, i.product_id, i.quantity, i.price)),
        ),
        created_at: e.occurred_at.clone(),
        updated_at: e.occurred_at,
    })
}

/// What the `payment.updated` consumer did.
pub enum Consumed {
    /// The order failed or expired and its reserved stock came back.
    Released {
        user_id: i64,
        products: Vec<CachedProduct>,
    },
    /// The order moved to its payment's status.
    Updated { user_id: i64 },
    /// The order was already final (it moves forward only).
    Unchanged,
    /// This event was consumed before.
    Duplicate,
    /// A payment status that does not move an order.
    Ignored,
    /// The outbox holds no `payment.updated` of this order with this id: a
    /// forged or stray message, which changed nothing (V11).
    UnknownEvent,
}

impl Consumed {
    pub fn as_str(&self) -> &'static str {
        match self {
            Consumed::Released { .. } => "released",
            Consumed::Updated { .. } => "updated",
            Consumed::Unchanged => "unchanged",
            Consumed::Duplicate => "duplicate",
            Consumed::Ignored => "ignored",
            Consumed::UnknownEvent => "unknown_event",
        }
    }
}

pub fn consume_payment_updated(
    db: &Db,
    event_id: &str,
    order: OrderId,
    payment_status: &str,
) -> Result<Consumed, ServiceError> {
    let rs = db.query(
        "SELECT outcome, user_id, product_id, stock, version, name, description, price, \
         created_at, updated_at FROM consume_payment_updated($1::text::uuid, $2, $3)",
        &[
            ParameterValue::Str(event_id.to_string()),
            ParameterValue::Int64(order.get()),
            ParameterValue::Str(payment_status.to_string()),
        ],
    )?;
    let first = rs
        .rows
        .first()
        .ok_or_else(|| ServiceError::internal("consume_payment_updated returned no row"))?;
    match db::text(first, 0)?.as_str() {
        "released" => Ok(Consumed::Released {
            user_id: db::int64(first, 1)?,
            products: CachedProduct::from_rows(&rs)?,
        }),
        "updated" => Ok(Consumed::Updated {
            user_id: db::int64(first, 1)?,
        }),
        "unchanged" => Ok(Consumed::Unchanged),
        "duplicate" => Ok(Consumed::Duplicate),
        "ignored" => Ok(Consumed::Ignored),
        "unknown_event" => Ok(Consumed::UnknownEvent),
        other => Err(ServiceError::internal(format!(
            "consume_payment_updated outcome {other}"
        ))),
    }
}
