//! Payments: initiating a Snap transaction and the saga's `order.created`
//! step (Midtrans's notifications are `notification.rs`).

use component_support::config;
use component_support::db::Db;
use component_support::wit::types::{Event, PaymentStatus};
use platform_core::event::{Event as SagaEvent, EventKind};
use platform_core::order::OrderId;
use platform_core::payment::InitiateRequest;
use platform_core::ServiceError;

use crate::exports::shop::platform::payments::{Initiated, Payment};
use crate::midtrans::{self, SnapOutcome, SnapRequest};
use crate::settings;
use crate::store::{self, Opened, Tokened, Unpaid};

pub(crate) fn db() -> Result<Db, ServiceError> {
    Db::open(&config::get(&settings::DATABASE_URL)?)
}

/// Payments refuse to run without a server key (never a default one).
pub(crate) fn server_key() -> Result<String, ServiceError> {
    let key = config::get(&settings::MIDTRANS_SERVER_KEY)?;
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
    match store::open_attempt(&db, user_id, order)? {
        Opened::NotFound => Err(ServiceError::not_found(format!(
            "Order {} not found",
            order.get()
        ))),
        Opened::NotPayable { status } => Err(ServiceError::conflict(format!(
            "Order {} is not payable (status: {})",
            order.get(),
            status.as_deref().unwrap_or("unknown")
        ))),
        Opened::Reuse(tokened) => Ok(initiated(tokened)),
        Opened::Call(unpaid) => {
            let tokened = ask_snap(&db, user_id, req, unpaid)?;
            Ok(initiated(tokened))
        }
    }
}

fn initiated(t: Tokened) -> Initiated {
    Initiated {
        payment_id: t.payment_id,
        gateway_token: t.snap_token,
        gateway_redirect_url: t.redirect_url,
        status: PaymentStatus::Pending,
        expired_at: t.expires_at,
    }
}

/// Snap's token for an attempt that has none yet, kept on the attempt.
fn ask_snap(
    db: &Db,
    user_id: i64,
    req: &InitiateRequest,
    unpaid: Unpaid,
) -> Result<Tokened, ServiceError> {
    let key = server_key()?;
    let items = store::items(db, req.order_id)?;
    let outcome = midtrans::create_transaction(
        &config::get(&settings::MIDTRANS_SNAP_BASE_URL)?,
        &key,
        &SnapRequest {
            gateway_order_id: &unpaid.gateway_order_id,
            gross_amount: unpaid.amount,
            items: &items,
            customer_name: req.customer_name.as_str(),
            customer_email: req.customer_email.as_str(),
            finish_url: finish_url(req.order_id)?,
        },
    )?;
    let saved = match outcome {
        SnapOutcome::Created(created) => {
            store::save_token(db, unpaid.attempt_id, &created.token, &created.redirect_url)?.map(
                |(snap_token, redirect_url)| Tokened {
                    payment_id: unpaid.payment_id,
                    snap_token,
                    redirect_url,
                    expires_at: unpaid.expires_at,
                },
            )
        }
        // A racing initiate created it first: answer its token.
        SnapOutcome::DuplicateOrderId => match store::open_attempt(db, user_id, req.order_id)? {
            Opened::Reuse(tokened) => Some(tokened),
            _ => None,
        },
    };
    saved.ok_or_else(|| {
        ServiceError::BadGateway("The payment provider refused the request".to_string())
    })
}

/// The saga's `order.created` step: the order's pending payment, once.
pub fn create_pending_payment(event: &Event) -> Result<(), ServiceError> {
    let parsed = SagaEvent::parse(event.payload.as_bytes())?;
    if parsed.kind != EventKind::OrderCreated {
        return Err(ServiceError::invalid("not an order.created event"));
    }
    let outcome = store::consume_order_created(&db()?, &parsed.event_id, parsed.order_id)?;
    // A message whose event the outbox does not hold is forged or stray:
    // nothing changed, and it is worth a look.
    let unknown = outcome == store::PendingPayment::UnknownEvent;
    component_support::log::line(&Consumed {
        level: if unknown { "warn" } else { "info" },
        msg: if unknown {
            "order.created ignored: the outbox holds no such event"
        } else {
            "order.created applied"
        },
        event_id: &parsed.event_id,
        order_id: parsed.order_id.get(),
        outcome: outcome.as_str(),
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
    let base = config::get(&settings::STOREFRONT_URL)?;
    let base = base.trim().trim_end_matches('/');
    Ok((!base.is_empty()).then(|| format!("{base}/app/orders/{}", order.get())))
}
