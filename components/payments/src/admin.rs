//! `shop:platform/payments-admin`: payments for the operator (issue 26) —
//! every attempt and notification of an order's payment (never a Snap token
//! or a notification's body), the cancel and the refund through the same
//! paths as the customer's and the late money's, and what needs a person.

use component_support::db::{self, Db, Row};
use component_support::wit::types::{CancelledOrder, Error, PaymentStatus, TokenBucket};
use platform_core::admin::AnomalyKind;
use platform_core::order::OrderId;
use platform_core::ServiceError;
use spin_sdk::pg4::ParameterValue;

use crate::exports::shop::payments_admin::admin::{
    Anomaly, AnomalyKind as WitKind, AttemptView, Guest, NotificationView, PaymentDetail,
    RefundOutcome, RefundResult, RefundState, TokenState,
};
use crate::lifecycle::cancel::{self, Canceller};
use crate::lifecycle::refund::{self, OperatorOutcome};
use crate::service::db;
use crate::Payments;

/// Notifications shown with a payment, newest first.
const NOTIFICATIONS_PER_PAYMENT: i64 = 100;

impl Guest for Payments {
    fn payment_for_order(order_id: i64) -> Result<Option<PaymentDetail>, Error> {
        Ok(detail(&db()?, OrderId::new(order_id)?)?)
    }

    fn cancel_order(
        actor_id: i64,
        order_id: i64,
        limit: Option<TokenBucket>,
    ) -> Result<CancelledOrder, Error> {
        let who = Canceller::Operator(actor_id);
        let (status, standing) = cancel::cancel(who, OrderId::new(order_id)?, limit.as_ref())?;
        Ok(CancelledOrder {
            status: status.into(),
            standing,
        })
    }

    fn refund_payment(actor_id: i64, payment_id: i64) -> Result<RefundResult, Error> {
        if payment_id < 1 {
            return Err(ServiceError::invalid("payment id must be a positive integer").into());
        }
        let (status, outcome) = refund::by_operator(actor_id, payment_id)?;
        Ok(RefundResult {
            payment_id,
            status: status.into(),
            refund: match outcome {
                OperatorOutcome::Requested => RefundOutcome::Requested,
                OperatorOutcome::Owed => RefundOutcome::Owed,
                OperatorOutcome::Refunded => RefundOutcome::Refunded,
            },
        })
    }

    fn anomalies(older_than_secs: u32, per_kind: u32) -> Result<Vec<Anomaly>, Error> {
        Ok(anomalies(older_than_secs, per_kind)?)
    }
}

fn payment_status(text: &str) -> Result<PaymentStatus, ServiceError> {
    platform_core::payment::PaymentStatus::parse(text)
        .map(PaymentStatus::from)
        .ok_or_else(|| ServiceError::internal(format!("payment status {text}")))
}

fn detail(db: &Db, order: OrderId) -> Result<Option<PaymentDetail>, ServiceError> {
    let rs = db.query(
        "SELECT id, status, amount, gateway_order_id, created_at, updated_at \
         FROM payments WHERE order_id = $1",
        &[ParameterValue::Int64(order.get())],
    )?;
    let Some(row) = rs.rows.first() else {
        return Ok(None);
    };
    let id = db::int64(row, 0)?;
    Ok(Some(PaymentDetail {
        id,
        status: payment_status(&db::text(row, 1)?)?,
        amount: db::int64(row, 2)?,
        gateway_order_id: db::text(row, 3)?,
        created_at: db::timestamp(row, 4)?,
        updated_at: db::timestamp(row, 5)?,
        attempts: attempts(db, id)?,
        notifications: notifications(db, id)?,
    }))
}

fn attempts(db: &Db, payment_id: i64) -> Result<Vec<AttemptView>, ServiceError> {
    let rs = db.query(
        "SELECT attempt, gateway_order_id, \
           CASE WHEN snap_token IS NULL THEN 'none' \
                WHEN expires_at > (now() AT TIME ZONE 'UTC') THEN 'valid' ELSE 'expired' END, \
           expires_at, transaction_status, fraud_status, payment_type, \
           CASE WHEN transaction_status IN ('refund', 'partial_refund') THEN 'refunded' \
                WHEN refund_refused_at IS NOT NULL THEN 'refused' \
                WHEN refund_requested_at IS NOT NULL THEN 'requested' \
                WHEN refund_required_at IS NOT NULL THEN 'owed' ELSE 'none' END, \
           created_at \
         FROM payment_attempts WHERE payment_id = $1 ORDER BY attempt",
        &[ParameterValue::Int64(payment_id)],
    )?;
    rs.rows.iter().map(|r| attempt(&r[..])).collect()
}

fn attempt(row: &Row) -> Result<AttemptView, ServiceError> {
    let token = match db::text(row, 2)?.as_str() {
        "valid" => TokenState::Valid,
        "expired" => TokenState::Expired,
        _ => TokenState::None,
    };
    let refund = match db::text(row, 7)?.as_str() {
        "refunded" => RefundState::Refunded,
        "refused" => RefundState::Refused,
        "requested" => RefundState::Requested,
        "owed" => RefundState::Owed,
        _ => RefundState::None,
    };
    Ok(AttemptView {
        attempt: db::int32(row, 0)?,
        gateway_order_id: db::text(row, 1)?,
        token,
        expires_at: db::timestamp(row, 3)?,
        transaction_status: db::opt_text(row, 4)?,
        fraud_status: db::opt_text(row, 5)?,
        payment_type: db::opt_text(row, 6)?,
        refund,
        created_at: db::timestamp(row, 8)?,
    })
}

fn notifications(db: &Db, payment_id: i64) -> Result<Vec<NotificationView>, ServiceError> {
    let rs = db.query(
        "SELECT id, received_at, source, verdict, confirmed_status FROM payment_notifications \
         WHERE payment_id = $1 ORDER BY id DESC LIMIT $2",
        &[
            ParameterValue::Int64(payment_id),
            ParameterValue::Int64(NOTIFICATIONS_PER_PAYMENT),
        ],
    )?;
    rs.rows
        .iter()
        .map(|r| {
            Ok(NotificationView {
                id: db::int64(r, 0)?,
                received_at: db::timestamp(r, 1)?,
                source: db::text(r, 2)?,
                verdict: db::text(r, 3)?,
                confirmed_status: db::opt_text(r, 4)?,
            })
        })
        .collect()
}

fn anomalies(older_than_secs: u32, per_kind: u32) -> Result<Vec<Anomaly>, ServiceError> {
    let secs = i32::try_from(older_than_secs)
        .map_err(|_| ServiceError::invalid("older_than_secs is too large"))?;
    let limit = i32::try_from(per_kind.clamp(1, 500)).unwrap_or(500);
    let rs = db()?.query(
        "SELECT kind, order_id, payment_id, event_id::text, since, detail \
         FROM operator_anomalies($1, $2)",
        &[ParameterValue::Int32(secs), ParameterValue::Int32(limit)],
    )?;
    rs.rows.iter().map(|r| anomaly(&r[..])).collect()
}

fn anomaly(row: &Row) -> Result<Anomaly, ServiceError> {
    let kind = db::text(row, 0)?;
    let kind = match AnomalyKind::parse(&kind) {
        Some(AnomalyKind::RefundOwed) => WitKind::RefundOwed,
        Some(AnomalyKind::RefundRefused) => WitKind::RefundRefused,
        Some(AnomalyKind::RefundUnconfirmed) => WitKind::RefundUnconfirmed,
        Some(AnomalyKind::StatusMismatch) => WitKind::StatusMismatch,
        Some(AnomalyKind::EventUnacknowledged) => WitKind::EventUnacknowledged,
        None => return Err(ServiceError::internal(format!("anomaly kind {kind}"))),
    };
    Ok(Anomaly {
        kind,
        order_id: db::int64(row, 1)?,
        payment_id: db::opt_int64(row, 2)?,
        event_id: db::opt_text(row, 3)?,
        since: db::timestamp(row, 4)?,
        subject: db::text(row, 5)?,
    })
}
