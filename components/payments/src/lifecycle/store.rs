//! The lifecycle's SQL: each step is one call of a function of V13.

use component_support::db::{self, Db, Row};
use platform_core::lifecycle::{AttemptView, OrderView};
use platform_core::payment::PaymentStatus;
use platform_core::ServiceError;
use spin_sdk::pg4::{ParameterValue, RowSet};

const COLUMNS: &str = "order_id, user_id, order_status, age_secs, checks, payment_status, \
     attempt_id, gateway_order_id, has_token, secs_left, transaction_status";

/// Groups `order_lifecycle`'s rows (one per attempt, ordered by order) into
/// the pending orders they describe; an order that is no longer pending is
/// left out.
fn views(rs: &RowSet) -> Result<Vec<OrderView>, ServiceError> {
    let mut views: Vec<OrderView> = Vec::new();
    for row in &rs.rows {
        let order_id = db::int64(row, 0)?;
        if db::text(row, 2)? != "pending" {
            continue;
        }
        if views.last().is_none_or(|v| v.order_id != order_id) {
            views.push(OrderView {
                order_id,
                user_id: db::int64(row, 1)?,
                payment_status: db::opt_text(row, 5)?
                    .map(|s| {
                        PaymentStatus::parse(&s)
                            .ok_or_else(|| ServiceError::internal(format!("payment status {s}")))
                    })
                    .transpose()?,
                age_secs: db::opt_float64(row, 3)?.unwrap_or(0.0),
                checks: db::int32(row, 4)?,
                attempts: Vec::new(),
            });
        }
        if let Some(attempt) = attempt(row)? {
            if let Some(view) = views.last_mut() {
                view.attempts.push(attempt);
            }
        }
    }
    Ok(views)
}

fn attempt(row: &Row) -> Result<Option<AttemptView>, ServiceError> {
    if db::opt_int64(row, 6)?.is_none() {
        return Ok(None);
    }
    Ok(Some(AttemptView {
        gateway_order_id: db::text(row, 7)?,
        has_token: db::boolean(row, 8)?,
        secs_left: db::opt_float64(row, 9)?.unwrap_or(0.0),
        transaction_status: db::opt_text(row, 10)?,
    }))
}

/// Claims up to `limit` due pending orders for `lease_secs`.
pub fn claim_due(db: &Db, limit: u32, lease_secs: i32) -> Result<Vec<OrderView>, ServiceError> {
    let rs = db.query(
        &format!("SELECT {COLUMNS} FROM order_lifecycle(claim_due_orders($1, $2))"),
        &[
            ParameterValue::Int32(i32::try_from(limit).unwrap_or(i32::MAX)),
            ParameterValue::Int32(lease_secs),
        ],
    )?;
    views(&rs)
}

/// What an order looks like now, whoever's it is; `None` when unknown.
pub fn order(db: &Db, order_id: i64) -> Result<Option<OrderLook>, ServiceError> {
    let rs = db.query(
        &format!("SELECT {COLUMNS} FROM order_lifecycle(ARRAY[$1::bigint])"),
        &[ParameterValue::Int64(order_id)],
    )?;
    let Some(first) = rs.rows.first() else {
        return Ok(None);
    };
    let user_id = db::int64(first, 1)?;
    let status = db::text(first, 2)?;
    Ok(Some(match views(&rs)?.pop() {
        Some(view) => OrderLook::Pending(view),
        None => OrderLook::Ended { user_id, status },
    }))
}

/// An order as a cancel finds it.
pub enum OrderLook {
    Pending(OrderView),
    /// No longer pending: `status` is the order's.
    Ended {
        user_id: i64,
        status: String,
    },
}

/// The sweep's next look at an order it left pending.
pub fn reschedule(db: &Db, order_id: i64, in_secs: f64) -> Result<(), ServiceError> {
    db.execute(
        "SELECT reschedule_order($1, $2)",
        &[
            ParameterValue::Int64(order_id),
            ParameterValue::Floating64(in_secs),
        ],
    )?;
    Ok(())
}

/// Records that the customer is cancelling the order's pending payment,
/// before its attempts are expired at Midtrans (V18).
pub fn mark_cancelling(db: &Db, order_id: i64, user_id: i64) -> Result<(), ServiceError> {
    db.execute(
        "SELECT mark_payment_cancelling($1, $2)",
        &[
            ParameterValue::Int64(order_id),
            ParameterValue::Int64(user_id),
        ],
    )?;
    Ok(())
}

/// How an unpaid order ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Its time ran out (the sweep).
    Expired,
    /// Its customer (`user_id`) cancelled it, or an operator did for them
    /// (the payment marked first: `mark_operator_cancel`, V19).
    Cancelled { user_id: i64 },
}

/// What `close_unpaid_order` did.
pub enum CloseOutcome {
    /// The payment ended; `event` is the `payment.updated` to publish.
    Closed {
        event: String,
    },
    /// It had ended already (`status` is the payment's, or the order's).
    Final {
        status: String,
    },
    NotFound,
}

pub fn close(db: &Db, order_id: i64, ending: Ending) -> Result<CloseOutcome, ServiceError> {
    let (status, user) = match ending {
        Ending::Expired => ("expired", ParameterValue::DbNull),
        Ending::Cancelled { user_id } => ("cancelled", ParameterValue::Int64(user_id)),
    };
    let rs = db.query(
        "SELECT outcome, status, event FROM close_unpaid_order($1, $2, $3)",
        &[
            ParameterValue::Int64(order_id),
            ParameterValue::Str(status.to_string()),
            user,
        ],
    )?;
    let row = rs
        .rows
        .first()
        .ok_or_else(|| ServiceError::internal("close_unpaid_order returned no row"))?;
    match db::text(row, 0)?.as_str() {
        "closed" => Ok(CloseOutcome::Closed {
            event: db::text(row, 2)?,
        }),
        "final" => Ok(CloseOutcome::Final {
            status: db::opt_text(row, 1)?.unwrap_or_default(),
        }),
        "not_found" => Ok(CloseOutcome::NotFound),
        other => Err(ServiceError::internal(format!(
            "close_unpaid_order outcome {other}"
        ))),
    }
}

fn forbidden() -> ServiceError {
    ServiceError::Forbidden("Administrator role required".to_string())
}

/// Marks the order's pending payment as being cancelled by an operator
/// (V19): its audit row is written when the payment becomes `cancelled`,
/// whichever path gets there. Checks the operator's role now (a token
/// carries it for its lifetime), before anything is closed at Midtrans.
pub fn mark_operator_cancel(db: &Db, order_id: i64, actor: i64) -> Result<(), ServiceError> {
    let rs = db.query(
        "SELECT outcome FROM mark_operator_cancel($1, $2)",
        &[
            ParameterValue::Int64(order_id),
            ParameterValue::Int64(actor),
        ],
    )?;
    match rs
        .rows
        .first()
        .map(|r| db::text(r, 0))
        .transpose()?
        .as_deref()
    {
        Some("marked") => Ok(()),
        Some("forbidden") => Err(forbidden()),
        other => Err(ServiceError::internal(format!(
            "mark_operator_cancel outcome {other:?}"
        ))),
    }
}

/// What `operator_refund` (V19) found to refund.
pub enum OperatorRefund {
    /// The attempts to ask Midtrans about: (gateway order id, amount).
    Attempts {
        attempts: Vec<(String, i64)>,
    },
    /// Nothing left: it was refunded.
    Refunded,
    /// Midtrans refused it before: the dashboard's to return.
    Refused,
    /// No money to return; `status` is the payment's.
    Nothing {
        status: String,
    },
    NotFound,
}

pub fn operator_refund(
    db: &Db,
    payment_id: i64,
    actor: i64,
) -> Result<OperatorRefund, ServiceError> {
    let rs = db.query(
        "SELECT outcome, payment_status, gateway_order_id, amount FROM operator_refund($1, $2)",
        &[
            ParameterValue::Int64(payment_id),
            ParameterValue::Int64(actor),
        ],
    )?;
    let first = rs
        .rows
        .first()
        .ok_or_else(|| ServiceError::internal("operator_refund returned no row"))?;
    match db::text(first, 0)?.as_str() {
        "refund" => Ok(OperatorRefund::Attempts {
            attempts: rs
                .rows
                .iter()
                .map(|r| Ok((db::text(r, 2)?, db::int64(r, 3)?)))
                .collect::<Result<_, ServiceError>>()?,
        }),
        "refunded" => Ok(OperatorRefund::Refunded),
        "refused" => Ok(OperatorRefund::Refused),
        "nothing" => Ok(OperatorRefund::Nothing {
            status: db::text(first, 1)?,
        }),
        "not_found" => Ok(OperatorRefund::NotFound),
        "forbidden" => Err(forbidden()),
        other => Err(ServiceError::internal(format!(
            "operator_refund outcome {other}"
        ))),
    }
}

/// A payment's status now.
pub fn payment_status(db: &Db, payment_id: i64) -> Result<String, ServiceError> {
    let rs = db.query(
        "SELECT status FROM payments WHERE id = $1",
        &[ParameterValue::Int64(payment_id)],
    )?;
    rs.rows
        .first()
        .map(|r| db::text(r, 0))
        .transpose()?
        .ok_or_else(|| ServiceError::not_found(format!("Payment {payment_id} not found")))
}

/// A refund owed and not yet accepted.
pub struct Owed {
    pub gateway_order_id: String,
    pub amount: i64,
    /// An operator ordered it (else: money that came late).
    pub ordered: bool,
}

pub fn refunds_owed(db: &Db, limit: i32) -> Result<Vec<Owed>, ServiceError> {
    let rs = db.query(
        "SELECT gateway_order_id, amount, ordered FROM refunds_owed($1)",
        &[ParameterValue::Int32(limit)],
    )?;
    rs.rows
        .iter()
        .map(|r| {
            Ok(Owed {
                gateway_order_id: db::text(r, 0)?,
                amount: db::int64(r, 1)?,
                ordered: db::boolean(r, 2)?,
            })
        })
        .collect()
}

/// Midtrans accepted the attempt's refund (`accepted`), or refused it: it
/// is not asked again either way.
pub fn refund_answered(
    db: &Db,
    gateway_order_id: &str,
    accepted: bool,
) -> Result<(), ServiceError> {
    let column = if accepted {
        "refund_requested_at"
    } else {
        "refund_refused_at"
    };
    db.execute(
        &format!(
            "UPDATE payment_attempts SET {column} = now() AT TIME ZONE 'UTC' \
             WHERE gateway_order_id = $1 AND {column} IS NULL"
        ),
        &[ParameterValue::Str(gateway_order_id.to_string())],
    )?;
    Ok(())
}
