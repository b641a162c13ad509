//! A Midtrans HTTP notification: verified, then applied. Nothing in it is
//! trusted before its signature is checked, and its status is not trusted at
//! all (the signature does not cover it): the status API says what happened.
//! A refused notification is audited once, with its verdict.

use component_support::config;
use component_support::db::Db;
use platform_core::midtrans::{parse_amount, Notification, TransactionStatus};
use platform_core::payment::{midtrans_status, PaymentStatus};
use platform_core::ServiceError;

use crate::exports::shop::platform::payments::NotificationOutcome;
use crate::lifecycle::{refund, Gateway};
use crate::midtrans;
use crate::service::{db, server_key, Publisher};
use crate::settings;
use crate::store::{self, Confirmed, Effect, Source, Verdict};

/// Why a notification is not applied.
enum Refusal {
    /// The notification's fault (or the provider's): kept in the audit table
    /// with its verdict, answered with `error`.
    Audited {
        verdict: Verdict,
        gateway_order_id: Option<String>,
        error: ServiceError,
    },
    /// Our own failure (configuration, database): answered, not audited.
    Failed(ServiceError),
}

impl From<ServiceError> for Refusal {
    fn from(e: ServiceError) -> Refusal {
        Refusal::Failed(e)
    }
}

/// A notification the status API confirmed.
enum Verified {
    /// A status this platform moves the payment to.
    Move {
        gateway_order_id: String,
        next: PaymentStatus,
        confirmed: Box<TransactionStatus>,
    },
    /// A status this platform does not act on (e.g. `authorize`): audited,
    /// acknowledged.
    Ignore { gateway_order_id: String },
}

pub fn handle(body: &[u8]) -> Result<NotificationOutcome, ServiceError> {
    let db = db()?;
    match verify(&db, body) {
        Ok(Verified::Move {
            gateway_order_id,
            next,
            confirmed,
        }) => Ok(
            match apply(
                &db,
                &gateway_order_id,
                next,
                &confirmed,
                body,
                Source::Webhook,
                &mut Publisher::default(),
            )? {
                Applied::Moved(_) => NotificationOutcome::Applied,
                Applied::RefundRequired => NotificationOutcome::RefundRequired,
                Applied::Unchanged => NotificationOutcome::AlreadyApplied,
            },
        ),
        Ok(Verified::Ignore { gateway_order_id }) => {
            store::audit(&db, Some(&gateway_order_id), body, Verdict::Unconfirmed)?;
            Ok(NotificationOutcome::AlreadyApplied)
        }
        Err(Refusal::Audited {
            verdict,
            gateway_order_id,
            error,
        }) => {
            store::audit(&db, gateway_order_id.as_deref(), body, verdict)?;
            Err(error)
        }
        Err(Refusal::Failed(error)) => Err(error),
    }
}

fn verify(db: &Db, body: &[u8]) -> Result<Verified, Refusal> {
    let n = Notification::from_json(body).map_err(|error| Refusal::Audited {
        verdict: Verdict::Malformed,
        gateway_order_id: None,
        error,
    })?;
    let refuse = |verdict, error| Refusal::Audited {
        verdict,
        gateway_order_id: Some(n.order_id.clone()),
        error,
    };
    let key = server_key()?;
    if !n.signed_with(&key) {
        let error = ServiceError::Unauthenticated("Invalid signature".to_string());
        return Err(refuse(Verdict::BadSignature, error));
    }
    let Some(amount) = store::amount_of(db, &n.order_id)? else {
        return Err(refuse(Verdict::UnknownOrder, unknown_order(&n.order_id)));
    };
    if parse_amount(&n.gross_amount) != Some(amount) {
        return Err(refuse(Verdict::AmountMismatch, amount_mismatch()));
    }
    let confirmed = match midtrans::status(
        &config::get(&settings::MIDTRANS_API_BASE_URL)?,
        &key,
        &n.order_id,
    ) {
        Ok(Some(s)) => s,
        Ok(None) => {
            let error =
                ServiceError::conflict("The payment provider does not know this transaction");
            return Err(refuse(Verdict::Unconfirmed, error));
        }
        Err(error) => return Err(refuse(Verdict::Unconfirmed, error)),
    };
    if confirmed.gross_amount.as_deref().and_then(parse_amount) != Some(amount) {
        return Err(refuse(Verdict::AmountMismatch, amount_mismatch()));
    }
    let mut confirmed = confirmed;
    // Midtrans sends `"fraud_status": ""` for methods without a fraud check:
    // none, once, here (the mapping and the stored row both read it).
    confirmed.fraud_status.take_if(|f| f.is_empty());
    let transaction_status = confirmed.transaction_status.as_deref().unwrap_or("");
    Ok(
        match midtrans_status(transaction_status, confirmed.fraud_status.as_deref()) {
            Some(next) => Verified::Move {
                gateway_order_id: n.order_id,
                next,
                confirmed: Box::new(confirmed),
            },
            None => Verified::Ignore {
                gateway_order_id: n.order_id,
            },
        },
    )
}

/// What applying a confirmed status did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// The payment moved to this status (`payment.updated` written and
    /// published); not always the one asked for: Midtrans's expire of a
    /// payment being cancelled ends it cancelled (V18).
    Moved(PaymentStatus),
    /// Money for a payment that had already ended: the refund is asked for
    /// now (and by each sweep until Midtrans answers).
    RefundRequired,
    /// Already at (or past) this status: audited, nothing else.
    Unchanged,
}

/// Applies a status Midtrans confirmed, from a notification or the
/// sweep's own status check: one path for both.
pub(crate) fn apply(
    db: &Db,
    gateway_order_id: &str,
    next: PaymentStatus,
    confirmed: &TransactionStatus,
    body: &[u8],
    source: Source,
    publisher: &mut Publisher,
) -> Result<Applied, ServiceError> {
    let va = confirmed.va_numbers.first();
    let effect = store::apply(
        db,
        &Confirmed {
            gateway_order_id,
            next_status: next.as_str(),
            transaction_status: confirmed.transaction_status.as_deref().unwrap_or(""),
            fraud_status: confirmed.fraud_status.as_deref(),
            transaction_id: confirmed.transaction_id.as_deref(),
            payment_type: confirmed.payment_type.as_deref(),
            channel: va.map(|v| v.bank.as_str()),
            va_number: va.map(|v| v.va_number.as_str()),
        },
        body,
        source,
    )?;
    match effect {
        Effect::Moved {
            event,
            order_id,
            status,
        } => {
            publisher.payment_updated(&event, order_id);
            let status = PaymentStatus::parse(&status)
                .ok_or_else(|| ServiceError::internal(format!("payment status {status}")))?;
            Ok(Applied::Moved(status))
        }
        Effect::RefundRequired {
            gateway_order_id,
            amount,
        } => {
            component_support::log::warn(
                "money arrived for an order that had ended; refunding",
                &gateway_order_id,
            );
            let requested = Gateway::from_settings()
                .and_then(|g| refund::request(db, &g, &gateway_order_id, amount, refund::LATE));
            if let Err(e) = requested {
                component_support::log::warn(
                    "refund not requested now; the sweep asks again",
                    &format!("{gateway_order_id}: {e:?}"),
                );
            }
            Ok(Applied::RefundRequired)
        }
        Effect::AlreadyApplied => Ok(Applied::Unchanged),
        Effect::UnknownOrder => Err(unknown_order(gateway_order_id)),
    }
}

fn unknown_order(gateway_order_id: &str) -> ServiceError {
    ServiceError::not_found(format!(
        "No payment with gateway order id {gateway_order_id}"
    ))
}

fn amount_mismatch() -> ServiceError {
    ServiceError::invalid("gross_amount does not match the payment")
}
