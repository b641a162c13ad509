//! The JSON bodies of the `/payment` routes (API.md).

use serde::Serialize;

use crate::shop::platform::payments::{Initiated, NotificationOutcome, Payment};

#[derive(Serialize)]
pub struct PaymentJson {
    id: i64,
    order_id: i64,
    amount: i64,
    status: &'static str,
    payment_method: Option<String>,
    payment_channel: Option<String>,
    gateway_order_id: String,
    gateway_redirect_url: Option<String>,
    va_number: Option<String>,
    qr_code_url: Option<String>,
    expired_at: String,
    created_at: String,
    updated_at: String,
}

/// `{"payment": {...}}`
#[derive(Serialize)]
pub struct PaymentBody {
    payment: PaymentJson,
}

impl From<Payment> for PaymentBody {
    fn from(p: Payment) -> PaymentBody {
        PaymentBody {
            payment: PaymentJson {
                id: p.id,
                order_id: p.order_id,
                amount: p.amount,
                status: p.status.as_str(),
                payment_method: p.payment_method,
                payment_channel: p.payment_channel,
                gateway_order_id: p.gateway_order_id,
                gateway_redirect_url: p.gateway_redirect_url,
                va_number: p.va_number,
                qr_code_url: p.qr_code_url,
                expired_at: p.expired_at,
                created_at: p.created_at,
                updated_at: p.updated_at,
            },
        }
    }
}

/// `{payment_id, gateway_token, gateway_redirect_url, status, expired_at}`
#[derive(Serialize)]
pub struct InitiatedBody {
    payment_id: i64,
    gateway_token: String,
    gateway_redirect_url: String,
    status: &'static str,
    expired_at: String,
}

impl From<Initiated> for InitiatedBody {
    fn from(i: Initiated) -> InitiatedBody {
        InitiatedBody {
            payment_id: i.payment_id,
            gateway_token: i.gateway_token,
            gateway_redirect_url: i.gateway_redirect_url,
            status: i.status.as_str(),
            expired_at: i.expired_at,
        }
    }
}

/// The webhook's answer: `{"status": "applied" | "already_applied" |
/// "refund_required"}`.
#[derive(Serialize)]
pub struct NotificationBody {
    status: &'static str,
}

impl From<NotificationOutcome> for NotificationBody {
    fn from(o: NotificationOutcome) -> NotificationBody {
        NotificationBody {
            status: match o {
                NotificationOutcome::Applied => "applied",
                NotificationOutcome::AlreadyApplied => "already_applied",
                NotificationOutcome::RefundRequired => "refund_required",
            },
        }
    }
}
