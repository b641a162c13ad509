//! The payments' SQL: each change is one call of a function of V9.

use component_support::db::{self, Db, Row};
use component_support::wit::types::PaymentStatus;
use platform_core::order::OrderId;
use platform_core::ServiceError;
use spin_sdk::pg4::ParameterValue;

use crate::exports::shop::platform::payments::Payment;
use crate::midtrans::Item;

pub fn status_from_text(s: &str) -> Result<PaymentStatus, ServiceError> {
    platform_core::payment::PaymentStatus::parse(s)
        .map(PaymentStatus::from)
        .ok_or_else(|| ServiceError::internal(format!("payment status {s}")))
}

const COLUMNS: &str = "p.id, p.order_id, p.amount, p.status, p.payment_method, p.payment_channel, \
     p.gateway_order_id, p.gateway_redirect_url, p.va_number, p.qr_code_url, p.expired_at, \
     p.created_at, p.updated_at";

fn payment(row: &Row) -> Result<Payment, ServiceError> {
    Ok(Payment {
        id: db::int64(row, 0)?,
        order_id: db::int64(row, 1)?,
        amount: db::int64(row, 2)?,
        status: status_from_text(&db::text(row, 3)?)?,
        payment_method: db::opt_text(row, 4)?,
        payment_channel: db::opt_text(row, 5)?,
        gateway_order_id: db::text(row, 6)?,
        gateway_redirect_url: db::opt_text(row, 7)?,
        va_number: db::opt_text(row, 8)?,
        qr_code_url: db::opt_text(row, 9)?,
        expired_at: db::timestamp(row, 10)?,
        created_at: db::timestamp(row, 11)?,
        updated_at: db::timestamp(row, 12)?,
    })
}

/// The payment of the caller's order; `None` when the order is unknown,
/// another user's, or has no payment yet.
pub fn for_order(db: &Db, user_id: i64, order: OrderId) -> Result<Option<Payment>, ServiceError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payments p JOIN orders o ON o.id = p.order_id \
         WHERE o.id = $1 AND o.user_id = $2"
    );
    let rs = db.query(
        &sql,
        &[
            ParameterValue::Int64(order.get()),
            ParameterValue::Int64(user_id),
        ],
    )?;
    rs.rows.first().map(|r| payment(&r[..])).transpose()
}

/// `open_payment_attempt`'s answer.
pub struct Opened {
    pub outcome: String,
    pub payment_id: Option<i64>,
    pub attempt_id: Option<i64>,
    pub gateway_order_id: Option<String>,
    pub snap_token: Option<String>,
    pub redirect_url: Option<String>,
    pub amount: Option<i64>,
    pub expires_at: Option<String>,
    pub status: Option<String>,
}

fn opt_int(row: &Row, i: usize) -> Result<Option<i64>, ServiceError> {
    match row.get(i) {
        Some(spin_sdk::pg4::DbValue::DbNull) => Ok(None),
        _ => db::int64(row, i).map(Some),
    }
}

fn opt_timestamp(row: &Row, i: usize) -> Result<Option<String>, ServiceError> {
    match row.get(i) {
        Some(spin_sdk::pg4::DbValue::DbNull) => Ok(None),
        _ => db::timestamp(row, i).map(Some),
    }
}

pub fn open_attempt(db: &Db, user_id: i64, order: OrderId) -> Result<Opened, ServiceError> {
    let rs = db.query(
        "SELECT outcome, payment_id, attempt_id, gateway_order_id, snap_token, redirect_url, \
         amount, expires_at, status FROM open_payment_attempt($1, $2)",
        &[
            ParameterValue::Int64(order.get()),
            ParameterValue::Int64(user_id),
        ],
    )?;
    let row = rs
        .rows
        .first()
        .ok_or_else(|| ServiceError::internal("open_payment_attempt returned no row"))?;
    Ok(Opened {
        outcome: db::text(row, 0)?,
        payment_id: opt_int(row, 1)?,
        attempt_id: opt_int(row, 2)?,
        gateway_order_id: db::opt_text(row, 3)?,
        snap_token: db::opt_text(row, 4)?,
        redirect_url: db::opt_text(row, 5)?,
        amount: opt_int(row, 6)?,
        expires_at: opt_timestamp(row, 7)?,
        status: db::opt_text(row, 8)?,
    })
}

/// The order's lines with their product names, for Snap's item details.
pub fn items(db: &Db, order: OrderId) -> Result<Vec<Item>, ServiceError> {
    let rs = db.query(
        "SELECT i.product_id, p.name, i.price, i.quantity FROM order_items i \
         JOIN products p ON p.id = i.product_id WHERE i.order_id = $1 ORDER BY i.product_id",
        &[ParameterValue::Int64(order.get())],
    )?;
    rs.rows
        .iter()
        .map(|r| {
            Ok(Item {
                product_id: db::int64(r, 0)?,
                name: db::text(r, 1)?,
                price: db::int64(r, 2)?,
                quantity: db::int32(r, 3)?,
            })
        })
        .collect()
}

/// Keeps Snap's token on its attempt (and as the payment's current one).
/// Returns the attempt's token: this one, or a racing initiate's.
pub fn save_token(
    db: &Db,
    attempt_id: i64,
    token: &str,
    redirect_url: &str,
) -> Result<Option<(String, String)>, ServiceError> {
    let rs = db.query(
        "WITH saved AS ( \
           UPDATE payment_attempts SET snap_token = $2, redirect_url = $3, \
             updated_at = now() AT TIME ZONE 'UTC' \
           WHERE id = $1 AND snap_token IS NULL RETURNING payment_id, snap_token, redirect_url), \
         current AS ( \
           UPDATE payments p SET gateway_token = s.snap_token, gateway_redirect_url = s.redirect_url, \
             updated_at = now() AT TIME ZONE 'UTC' FROM saved s WHERE p.id = s.payment_id) \
         SELECT snap_token, redirect_url FROM saved \
         UNION ALL \
         SELECT snap_token, redirect_url FROM payment_attempts \
         WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM saved)",
        &[
            ParameterValue::Int64(attempt_id),
            ParameterValue::Str(token.to_string()),
            ParameterValue::Str(redirect_url.to_string()),
        ],
    )?;
    let Some(row) = rs.rows.first() else {
        return Ok(None);
    };
    Ok(db::opt_text(row, 0)?.zip(db::opt_text(row, 1)?))
}

/// The amount of the payment an attempt's gateway order id belongs to.
pub fn amount_of(db: &Db, gateway_order_id: &str) -> Result<Option<i64>, ServiceError> {
    let rs = db.query(
        "SELECT p.amount FROM payment_attempts a JOIN payments p ON p.id = a.payment_id \
         WHERE a.gateway_order_id = $1",
        &[ParameterValue::Str(gateway_order_id.to_string())],
    )?;
    rs.rows.first().map(|r| db::int64(r, 0)).transpose()
}

/// What is kept of a body that was not verified: Midtrans's notifications
/// are ~1-2 KB, and a forger must not fill the disk at 1 MiB a request.
const UNVERIFIED_BODY_KEPT: usize = 16 * 1024;

/// A notification that was not acted on, kept with its verdict.
pub fn audit(
    db: &Db,
    gateway_order_id: Option<&str>,
    raw: &[u8],
    verdict: &str,
) -> Result<(), ServiceError> {
    db.execute(
        "INSERT INTO payment_notifications (gateway_order_id, payment_id, raw_body, verdict) \
         SELECT $1, (SELECT a.payment_id FROM payment_attempts a WHERE a.gateway_order_id = $1), \
         $2, $3",
        &[
            gateway_order_id.map_or(ParameterValue::DbNull, |g| {
                ParameterValue::Str(g.to_string())
            }),
            ParameterValue::Binary(raw[..raw.len().min(UNVERIFIED_BODY_KEPT)].to_vec()),
            ParameterValue::Str(verdict.to_string()),
        ],
    )?;
    Ok(())
}

/// A confirmed status to apply.
pub struct Confirmed<'a> {
    pub gateway_order_id: &'a str,
    pub next_status: &'a str,
    pub transaction_status: &'a str,
    pub fraud_status: Option<&'a str>,
    pub transaction_id: Option<&'a str>,
    pub payment_type: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub va_number: Option<&'a str>,
}

/// Returns the outcome and, when applied, the `payment.updated` payload.
pub fn apply(db: &Db, c: &Confirmed, raw: &[u8]) -> Result<(String, Option<String>), ServiceError> {
    let opt = |v: Option<&str>| {
        v.map_or(ParameterValue::DbNull, |s| {
            ParameterValue::Str(s.to_string())
        })
    };
    let rs = db.query(
        "SELECT outcome, event FROM apply_payment_notification($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            ParameterValue::Str(c.gateway_order_id.to_string()),
            ParameterValue::Str(c.next_status.to_string()),
            ParameterValue::Str(c.transaction_status.to_string()),
            opt(c.fraud_status),
            opt(c.transaction_id),
            opt(c.payment_type),
            opt(c.channel),
            opt(c.va_number),
            ParameterValue::Binary(raw.to_vec()),
        ],
    )?;
    let row = rs
        .rows
        .first()
        .ok_or_else(|| ServiceError::internal("apply_payment_notification returned no row"))?;
    Ok((db::text(row, 0)?, db::opt_text(row, 1)?))
}

/// The saga's `order.created` step, acknowledged with its effect.
pub fn consume_order_created(
    db: &Db,
    event_id: &str,
    order: OrderId,
) -> Result<String, ServiceError> {
    let rs = db.query(
        "SELECT consume_order_created($1::text::uuid, $2)",
        &[
            ParameterValue::Str(event_id.to_string()),
            ParameterValue::Int64(order.get()),
        ],
    )?;
    let row = rs
        .rows
        .first()
        .ok_or_else(|| ServiceError::internal("consume_order_created returned no row"))?;
    db::text(row, 0)
}
