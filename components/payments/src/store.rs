//! The payments' SQL: each change is one call of a function of V9.

use component_support::db::{self, Db, Row};
use component_support::wit::types::PaymentStatus;
use platform_core::order::OrderId;
use platform_core::payment::PAYMENT_WINDOW_HOURS;
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

/// An attempt Snap has not given a token for yet: ask for one.
pub struct Unpaid {
    pub payment_id: i64,
    pub attempt_id: i64,
    pub gateway_order_id: String,
    pub amount: i64,
    pub expires_at: String,
    /// When its window opened, as Midtrans's `expiry.start_time` wants it.
    pub window_start: String,
}

/// An attempt whose Snap token is still valid: answer it again.
pub struct Tokened {
    pub payment_id: i64,
    pub snap_token: String,
    pub redirect_url: String,
    pub expires_at: String,
}

/// What `open_payment_attempt` decided.
pub enum Opened {
    /// Unknown, or another user's order.
    NotFound,
    /// The order or its payment is no longer pending (`status` says which).
    NotPayable {
        status: Option<String>,
    },
    Reuse(Tokened),
    Call(Unpaid),
}

pub fn open_attempt(db: &Db, user_id: i64, order: OrderId) -> Result<Opened, ServiceError> {
    let rs = db.query(
        "SELECT outcome, payment_id, attempt_id, gateway_order_id, snap_token, redirect_url, \
         amount, expires_at, status, \
         to_char(expires_at - make_interval(hours => $3), 'YYYY-MM-DD HH24:MI:SS') || ' +0000' \
         FROM open_payment_attempt($1, $2)",
        &[
            ParameterValue::Int64(order.get()),
            ParameterValue::Int64(user_id),
            ParameterValue::Int32(PAYMENT_WINDOW_HOURS as i32),
        ],
    )?;
    let row = rs
        .rows
        .first()
        .ok_or_else(|| ServiceError::internal("open_payment_attempt returned no row"))?;
    match db::text(row, 0)?.as_str() {
        "not_found" => Ok(Opened::NotFound),
        "not_payable" => Ok(Opened::NotPayable {
            status: db::opt_text(row, 8)?,
        }),
        "reuse" => Ok(Opened::Reuse(Tokened {
            payment_id: db::int64(row, 1)?,
            snap_token: db::text(row, 4)?,
            redirect_url: db::text(row, 5)?,
            expires_at: db::timestamp(row, 7)?,
        })),
        "call" => Ok(Opened::Call(Unpaid {
            payment_id: db::int64(row, 1)?,
            attempt_id: db::int64(row, 2)?,
            gateway_order_id: db::text(row, 3)?,
            amount: db::int64(row, 6)?,
            expires_at: db::timestamp(row, 7)?,
            window_start: db::text(row, 9)?,
        })),
        other => Err(ServiceError::internal(format!(
            "open_payment_attempt outcome {other}"
        ))),
    }
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
           WHERE id = $1 AND snap_token IS NULL AND expires_at > now() AT TIME ZONE 'UTC' \
           RETURNING payment_id, snap_token, redirect_url), \
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

/// Closes an attempt Snap never gave us a token for (its reply was lost):
/// it expires now, so the next `open_attempt` opens the next attempt, and a
/// late `save_token` for it saves nothing.
pub fn close_attempt(db: &Db, attempt_id: i64) -> Result<(), ServiceError> {
    db.execute(
        "UPDATE payment_attempts SET expires_at = now() AT TIME ZONE 'UTC', \
         updated_at = now() AT TIME ZONE 'UTC' \
         WHERE id = $1 AND snap_token IS NULL AND expires_at > now() AT TIME ZONE 'UTC'",
        &[ParameterValue::Int64(attempt_id)],
    )?;
    Ok(())
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

/// Why a notification was not acted on (`payment_notifications.verdict`;
/// `apply_payment_notification` writes the verdicts of the ones it acts on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Malformed,
    BadSignature,
    UnknownOrder,
    AmountMismatch,
    /// The status API does not confirm it, or confirms a status we do not act on.
    Unconfirmed,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Malformed => "malformed",
            Verdict::BadSignature => "bad_signature",
            Verdict::UnknownOrder => "unknown_order",
            Verdict::AmountMismatch => "amount_mismatch",
            Verdict::Unconfirmed => "unconfirmed",
        }
    }
}

/// A notification that was not acted on, kept with its verdict.
pub fn audit(
    db: &Db,
    gateway_order_id: Option<&str>,
    raw: &[u8],
    verdict: Verdict,
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
            ParameterValue::Str(verdict.as_str().to_string()),
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

/// Where a confirmed status came from (`payment_notifications.source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Midtrans's HTTP notification.
    Webhook,
    /// The sweep or a cancel asked the status API (no notification came).
    StatusCheck,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Webhook => "webhook",
            Source::StatusCheck => "status_check",
        }
    }
}

/// What `apply_payment_notification` did.
pub enum Effect {
    /// The payment moved to `status`; `event` is the `payment.updated`
    /// payload to publish.
    Moved {
        event: String,
        order_id: i64,
        status: String,
    },
    /// Money for a payment that had already ended: a refund is owed
    /// (`payment.refund_required` was written).
    RefundRequired {
        gateway_order_id: String,
        amount: i64,
    },
    /// The payment is already at or past this status.
    AlreadyApplied,
    UnknownOrder,
}

pub fn apply(db: &Db, c: &Confirmed, raw: &[u8], source: Source) -> Result<Effect, ServiceError> {
    let opt = |v: Option<&str>| {
        v.map_or(ParameterValue::DbNull, |s| {
            ParameterValue::Str(s.to_string())
        })
    };
    let rs = db.query(
        "SELECT outcome, event, (event::jsonb ->> 'amount')::bigint, \
         (event::jsonb ->> 'order_id')::bigint, event::jsonb ->> 'status' \
         FROM apply_payment_notification($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
            ParameterValue::Str(source.as_str().to_string()),
        ],
    )?;
    let row = rs
        .rows
        .first()
        .ok_or_else(|| ServiceError::internal("apply_payment_notification returned no row"))?;
    match db::text(row, 0)?.as_str() {
        "applied" => Ok(Effect::Moved {
            event: db::text(row, 1)?,
            order_id: db::int64(row, 3)?,
            status: db::text(row, 4)?,
        }),
        "refund_required" => Ok(Effect::RefundRequired {
            gateway_order_id: c.gateway_order_id.to_string(),
            amount: db::int64(row, 2)?,
        }),
        "already_applied" => Ok(Effect::AlreadyApplied),
        "unknown_order" => Ok(Effect::UnknownOrder),
        other => Err(ServiceError::internal(format!(
            "apply_payment_notification outcome {other}"
        ))),
    }
}

/// What the saga's `order.created` step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PendingPayment {
    Created,
    /// The order already had its payment (an initiate came first).
    Existed,
    /// This event was consumed before.
    Duplicate,
    /// The order is no longer pending.
    NotPayable,
    /// The outbox holds no `order.created` of this order with this id: a
    /// forged or stray message, which changed nothing (V11).
    UnknownEvent,
}

impl PendingPayment {
    pub fn as_str(self) -> &'static str {
        match self {
            PendingPayment::Created => "created",
            PendingPayment::Existed => "existed",
            PendingPayment::Duplicate => "duplicate",
            PendingPayment::NotPayable => "not_payable",
            PendingPayment::UnknownEvent => "unknown_event",
        }
    }
}

/// The saga's `order.created` step, acknowledged with its effect.
pub fn consume_order_created(
    db: &Db,
    event_id: &str,
    order: OrderId,
) -> Result<PendingPayment, ServiceError> {
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
    match db::text(row, 0)?.as_str() {
        "created" => Ok(PendingPayment::Created),
        "existed" => Ok(PendingPayment::Existed),
        "duplicate" => Ok(PendingPayment::Duplicate),
        "not_payable" => Ok(PendingPayment::NotPayable),
        "unknown_event" => Ok(PendingPayment::UnknownEvent),
        other => Err(ServiceError::internal(format!(
            "consume_order_created outcome {other}"
        ))),
    }
}
