//! `POST /payment/initiate`: the caller's pending order's Snap token — the
//! attempt's own while it is valid, else one Snap gives for it. Never stuck:
//! when Midtrans already holds the attempt's order id (a double-clicked Pay,
//! or an earlier call whose reply was lost), a racing initiate's token is
//! waited for briefly, and an orphaned attempt is closed and the next one
//! opened in the same call.

use std::time::Duration;

use component_support::config;
use component_support::db::Db;
use component_support::wit::types::PaymentStatus;
use platform_core::order::OrderId;
use platform_core::payment::InitiateRequest;
use platform_core::ServiceError;

use crate::exports::shop::platform::payments::Initiated;
use crate::midtrans::{self, SnapOutcome, SnapRequest};
use crate::service::{db, finish_url, server_key};
use crate::settings;
use crate::store::{self, Opened, Tokened, Unpaid};

/// How long a duplicate waits, in steps, for a racing initiate to save the
/// token Snap gave it (one statement after Snap's answer): ~1.5 s in all.
const RACE_WAITS_MS: [u64; 4] = [100, 200, 400, 800];

pub fn initiate(user_id: i64, req: &InitiateRequest) -> Result<Initiated, ServiceError> {
    let db = db()?;
    let tokened = match payable(&db, user_id, req.order_id)? {
        Payable::Reuse(tokened) => tokened,
        Payable::Call(unpaid) => match ask_snap(&db, user_id, req, &unpaid)? {
            Asked::Token(tokened) => tokened,
            Asked::Duplicate => after_duplicate(&db, user_id, req, unpaid)?,
        },
    };
    Ok(Initiated {
        payment_id: tokened.payment_id,
        gateway_token: tokened.snap_token,
        gateway_redirect_url: tokened.redirect_url,
        status: PaymentStatus::Pending,
        expired_at: tokened.expires_at,
    })
}

/// A payable order's attempt.
enum Payable {
    Reuse(Tokened),
    Call(Unpaid),
}

fn payable(db: &Db, user_id: i64, order: OrderId) -> Result<Payable, ServiceError> {
    match store::open_attempt(db, user_id, order)? {
        Opened::NotFound => Err(ServiceError::not_found(format!(
            "Order {} not found",
            order.get()
        ))),
        Opened::NotPayable { status } => Err(ServiceError::conflict(format!(
            "Order {} is not payable (status: {})",
            order.get(),
            status.as_deref().unwrap_or("unknown")
        ))),
        Opened::Reuse(tokened) => Ok(Payable::Reuse(tokened)),
        Opened::Call(unpaid) => Ok(Payable::Call(unpaid)),
    }
}

/// What asking Snap for an attempt's token gave.
enum Asked {
    Token(Tokened),
    /// Midtrans already holds this attempt's order id.
    Duplicate,
}

fn ask_snap(
    db: &Db,
    user_id: i64,
    req: &InitiateRequest,
    unpaid: &Unpaid,
) -> Result<Asked, ServiceError> {
    let items = store::items(db, req.order_id)?;
    let outcome = midtrans::create_transaction(
        &config::get(&settings::MIDTRANS_SNAP_BASE_URL)?,
        &server_key()?,
        &SnapRequest {
            gateway_order_id: &unpaid.gateway_order_id,
            gross_amount: unpaid.amount,
            items: &items,
            customer_name: req.customer_name.as_str(),
            customer_email: req.customer_email.as_str(),
            finish_url: finish_url(req.order_id)?,
            window_start: &unpaid.window_start,
        },
    )?;
    let created = match outcome {
        SnapOutcome::Created(created) => created,
        SnapOutcome::DuplicateOrderId => return Ok(Asked::Duplicate),
    };
    let saved = store::save_token(db, unpaid.attempt_id, &created.token, &created.redirect_url)?;
    match saved {
        Some((snap_token, redirect_url)) => Ok(Asked::Token(Tokened {
            payment_id: unpaid.payment_id,
            snap_token,
            redirect_url,
            expires_at: unpaid.expires_at.clone(),
        })),
        // The attempt was closed meanwhile (a duplicate took it for
        // orphaned): the payment's current token is the answer.
        None => match payable(db, user_id, req.order_id)? {
            Payable::Reuse(tokened) => Ok(Asked::Token(tokened)),
            Payable::Call(_) => Err(refused()),
        },
    }
}

/// Midtrans holds the attempt's order id but the attempt has no token: a
/// racing initiate saves it within moments (wait for it), or an earlier
/// call's reply was lost (close the orphan, ask once for the next attempt).
fn after_duplicate(
    db: &Db,
    user_id: i64,
    req: &InitiateRequest,
    orphan: Unpaid,
) -> Result<Tokened, ServiceError> {
    for wait in RACE_WAITS_MS {
        std::thread::sleep(Duration::from_millis(wait));
        match payable(db, user_id, req.order_id)? {
            Payable::Reuse(tokened) => return Ok(tokened),
            Payable::Call(unpaid) if unpaid.attempt_id == orphan.attempt_id => continue,
            // Another initiate closed it already and opened the next.
            Payable::Call(next) => return ask_once(db, user_id, req, &next),
        }
    }
    store::close_attempt(db, orphan.attempt_id)?;
    match payable(db, user_id, req.order_id)? {
        Payable::Reuse(tokened) => Ok(tokened),
        Payable::Call(next) => ask_once(db, user_id, req, &next),
    }
}

/// The next attempt's token, asked once: a second duplicate is Midtrans
/// refusing, not a race.
fn ask_once(
    db: &Db,
    user_id: i64,
    req: &InitiateRequest,
    next: &Unpaid,
) -> Result<Tokened, ServiceError> {
    match ask_snap(db, user_id, req, next)? {
        Asked::Token(tokened) => Ok(tokened),
        Asked::Duplicate => Err(refused()),
    }
}

fn refused() -> ServiceError {
    ServiceError::BadGateway("The payment provider refused the request".to_string())
}
