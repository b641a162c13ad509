//! Payments: initiating a Snap transaction, Midtrans's notifications, and
//! the saga's `order.created` step.

use component_support::cache::Cache;
use component_support::config::var;
use component_support::db::Db;
use component_support::wit::types::{Event, PaymentStatus};
use platform_core::event::{self, Event as SagaEvent, EventKind};
use platform_core::order::OrderId;
use platform_core::payment::{midtrans_status, parse_amount, InitiateRequest, Notification};
use platform_core::ServiceError;

use crate::exports::shop::platform::payments::{Initiated, NotificationOutcome, Payment};
use crate::midtrans::{self, SnapOutcome, SnapRequest};
use crate::store::{self, Confirmed};

fn db() -> Result<Db, ServiceError> {
    Db::open(&var("database_url")?)
}

/// Payments refuse to run without a server key (never a default one).
fn server_key() -> Result<String, ServiceError> {
    let key = var("midtrans_server_key")?;
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

pub fn initiate(user_id: i64, req: &InitiateRequest) -> Result<Initiated, ServiceError> {
    let db = db()?;
    let order = req.order_id;
    let opened = store::open_attempt(&db, user_id, order)?;
    let initiated = |token: String, url: String| -> Result<Initiated, ServiceError> {
        Ok(Initiated {
            payment_id: opened.payment_id.unwrap_or_default(),
            gateway_token: token,
            gateway_redirect_url: url,
            status: PaymentStatus::Pending,
            expired_at: opened.expires_at.clone().unwrap_or_default(),
        })
    };
    match opened.outcome.as_str() {
        "not_found" => {
            return Err(ServiceError::not_found(format!(
                "Order {} not found",
                order.get()
            )))
        }
        "not_payable" => {
            return Err(ServiceError::conflict(format!(
                "Order {} is not payable (status: {})",
                order.get(),
                opened.status.as_deref().unwrap_or("unknown")
            )))
        }
        "reuse" => {
            if let (Some(token), Some(url)) =
                (opened.snap_token.clone(), opened.redirect_url.clone())
            {
                return initiated(token, url);
            }
        }
        _ => {}
    }
    let (Some(attempt_id), Some(gateway_order_id), Some(amount)) = (
        opened.attempt_id,
        opened.gateway_order_id.as_deref(),
        opened.amount,
    ) else {
        return Err(ServiceError::internal(format!(
            "open_payment_attempt: {} without an attempt",
            opened.outcome
        )));
    };
    let key = server_key()?;
    let items = store::items(&db, order)?;
    let outcome = midtrans::create_transaction(
        &var("midtrans_snap_base_url")?,
        &key,
        &SnapRequest {
            gateway_order_id,
            gross_amount: amount,
            items: &items,
            customer_name: req.customer_name.as_str(),
            customer_email: req.customer_email.as_str(),
            finish_url: finish_url(order)?,
        },
    )?;
    let saved = match outcome {
        SnapOutcome::Created(created) => {
            store::save_token(&db, attempt_id, &created.token, &created.redirect_url)?
        }
        // A racing initiate created it first: answer its token.
        SnapOutcome::DuplicateOrderId => {
            let again = store::open_attempt(&db, user_id, order)?;
            again.snap_token.zip(again.redirect_url)
        }
    };
    match saved {
        Some((token, url)) => initiated(token, url),
        None => Err(ServiceError::BadGateway(
            "The payment provider refused the request".to_string(),
        )),
    }
}

/// A Midtrans HTTP notification. Nothing in it is trusted before its
/// signature is checked, and its status is not trusted at all (the signature
/// does not cover it): the status API says what happened.
pub fn handle_notification(body: &[u8]) -> Result<NotificationOutcome, ServiceError> {
    let db = db()?;
    let n = match Notification::from_json(body) {
        Ok(n) => n,
        Err(e) => {
            store::audit(&db, None, body, "malformed")?;
            return Err(e);
        }
    };
    let key = server_key()?;
    if !n.signed_with(&key) {
        // Kept in the audit table (not logged: one log line per request).
        store::audit(&db, Some(&n.order_id), body, "bad_signature")?;
        return Err(ServiceError::Unauthenticated(
            "Invalid signature".to_string(),
        ));
    }
    let Some(amount) = store::amount_of(&db, &n.order_id)? else {
        store::audit(&db, Some(&n.order_id), body, "unknown_order")?;
        return Err(ServiceError::not_found(format!(
            "No payment with gateway order id {}",
            n.order_id
        )));
    };
    if parse_amount(&n.gross_amount) != Some(amount) {
        store::audit(&db, Some(&n.order_id), body, "amount_mismatch")?;
        return Err(ServiceError::invalid(
            "gross_amount does not match the payment",
        ));
    }
    let confirmed = match midtrans::status(&var("midtrans_api_base_url")?, &key, &n.order_id) {
        Ok(Some(s)) => s,
        Ok(None) => {
            store::audit(&db, Some(&n.order_id), body, "unconfirmed")?;
            return Err(ServiceError::conflict(
                "The payment provider does not know this transaction",
            ));
        }
        Err(e) => {
            store::audit(&db, Some(&n.order_id), body, "unconfirmed")?;
            return Err(e);
        }
    };
    if confirmed.gross_amount.as_deref().and_then(parse_amount) != Some(amount) {
        store::audit(&db, Some(&n.order_id), body, "amount_mismatch")?;
        return Err(ServiceError::invalid(
            "gross_amount does not match the payment",
        ));
    }
    let transaction_status = confirmed.transaction_status.as_deref().unwrap_or("");
    let fraud = confirmed.fraud_status.as_deref().filter(|f| !f.is_empty());
    let Some(next) = midtrans_status(transaction_status, fraud) else {
        // A status this platform does not act on: kept, acknowledged.
        store::audit(&db, Some(&n.order_id), body, "unconfirmed")?;
        return Ok(NotificationOutcome::AlreadyApplied);
    };
    let va = confirmed.va_numbers.first();
    let (outcome, payload) = store::apply(
        &db,
        &Confirmed {
            gateway_order_id: &n.order_id,
            next_status: next.as_str(),
            transaction_status,
            fraud_status: fraud,
            transaction_id: confirmed.transaction_id.as_deref(),
            payment_type: confirmed.payment_type.as_deref(),
            channel: va.map(|v| v.bank.as_str()),
            va_number: va.map(|v| v.va_number.as_str()),
        },
        body,
    )?;
    match (outcome.as_str(), payload) {
        ("applied", Some(payload)) => {
            let published =
                Cache::new(var("redis_url")?).publish(event::PAYMENT_UPDATED, payload.as_bytes());
            if !published {
                component_support::log::warn(
                    "payment.updated not published now; the relay re-publishes it",
                    &n.order_id,
                );
            }
            Ok(NotificationOutcome::Applied)
        }
        ("already_applied", _) => Ok(NotificationOutcome::AlreadyApplied),
        ("unknown_order", _) => Err(ServiceError::not_found(format!(
            "No payment with gateway order id {}",
            n.order_id
        ))),
        (other, _) => Err(ServiceError::internal(format!(
            "apply_payment_notification outcome {other}"
        ))),
    }
}

/// The saga's `order.created` step: the order's pending payment, once.
pub fn create_pending_payment(event: &Event) -> Result<(), ServiceError> {
    let parsed = SagaEvent::parse(event.payload.as_bytes())?;
    if parsed.kind != EventKind::OrderCreated {
        return Err(ServiceError::invalid("not an order.created event"));
    }
    let outcome = store::consume_order_created(&db()?, &parsed.event_id, parsed.order_id)?;
    component_support::log::line(&Consumed {
        level: "info",
        msg: "order.created applied",
        event_id: &parsed.event_id,
        order_id: parsed.order_id.get(),
        outcome: &outcome,
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
fn finish_url(order: OrderId) -> Result<Option<String>, ServiceError> {
    let base = var("storefront_url")?;
    let base = base.trim().trim_end_matches('/');
    Ok((!base.is_empty()).then(|| format!("{base}/app/orders/{}", order.get())))
}
