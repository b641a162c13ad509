//! Midtrans over Spin's outbound HTTP: Snap create-transaction and the Core
//! API's status check, expire and refund. Base URLs are variables (the local sandbox in dev and
//! tests, Midtrans's sandbox or production otherwise); the server key is
//! sent as Basic auth and never logged.

use platform_core::midtrans::{
    basic_auth, Callbacks, CreateTransaction, CustomerDetails, Expiry, ItemDetails, MidtransErrors,
    RefundRequest, SnapCreated, TransactionDetails, TransactionStatus,
};
use platform_core::payment::PAYMENT_WINDOW_HOURS;
use platform_core::ServiceError;
use spin_sdk::http::{Method, Request, Response};

/// One line of the Snap transaction.
pub struct Item {
    pub product_id: i64,
    pub name: String,
    pub price: i64,
    pub quantity: i32,
}

pub struct SnapRequest<'a> {
    pub gateway_order_id: &'a str,
    pub gross_amount: i64,
    pub items: &'a [Item],
    pub customer_name: &'a str,
    pub customer_email: &'a str,
    /// Where Snap's page sends the payer afterwards (`callbacks.finish`).
    pub finish_url: Option<String>,
    /// When the attempt's window opened (`2026-12-06 10:00:00 +0000`): sent
    /// as `expiry.start_time`, so Midtrans closes the transaction when the
    /// database's `expires_at` says (without it Midtrans counts from the
    /// charge, and a VA opened late stays payable past the order's expiry).
    pub window_start: &'a str,
}

/// What Snap answered.
pub enum SnapOutcome {
    Created(SnapCreated),
    /// Midtrans already holds a transaction with this order id.
    DuplicateOrderId,
}

fn call(
    method: Method,
    url: &str,
    server_key: &str,
    body: Option<Vec<u8>>,
) -> Result<(u16, Vec<u8>), ServiceError> {
    let mut builder = Request::builder();
    builder
        .method(method)
        .uri(url)
        .header("accept", "application/json")
        .header("authorization", basic_auth(server_key));
    if let Some(body) = body {
        builder
            .header("content-type", "application/json")
            .body(body);
    }
    let response: Response =
        spin_sdk::http::run(spin_sdk::http::send(builder.build())).map_err(|e| {
            component_support::log::error("payment provider unreachable", &format!("{e}"));
            unavailable()
        })?;
    Ok((*response.status(), response.into_body()))
}

fn unavailable() -> ServiceError {
    ServiceError::unavailable("The payment provider is unavailable; try again")
}

fn refused(status: u16, body: &[u8]) -> ServiceError {
    let messages = serde_json::from_slice::<MidtransErrors>(body)
        .map(|e| e.error_messages.join("; "))
        .unwrap_or_default();
    component_support::log::error(
        "payment provider refused the request",
        &format!("HTTP {status}: {messages}"),
    );
    ServiceError::BadGateway("The payment provider refused the request".to_string())
}

/// Snap's create-transaction body for an order, expiring with the
/// payment window.
fn snap_body(req: &SnapRequest) -> CreateTransaction {
    let items = req.items.iter().map(|i| {
        ItemDetails::new(
            i.product_id.to_string(),
            &i.name,
            i.price,
            i64::from(i.quantity),
        )
    });
    CreateTransaction {
        callbacks: req.finish_url.clone().map(|finish| Callbacks {
            finish: Some(finish),
        }),
        customer_details: Some(CustomerDetails {
            email: Some(req.customer_email.to_string()),
            first_name: Some(req.customer_name.to_string()),
            last_name: None,
        }),
        expiry: Some(Expiry::starting(
            req.window_start,
            PAYMENT_WINDOW_HOURS,
            "hours",
        )),
        item_details: Some(items.collect()),
        transaction_details: TransactionDetails {
            gross_amount: req.gross_amount,
            order_id: req.gateway_order_id.to_string(),
        },
    }
}

/// `POST {snap}/snap/v1/transactions` with a 24-hour expiry.
pub fn create_transaction(
    snap_base: &str,
    server_key: &str,
    req: &SnapRequest,
) -> Result<SnapOutcome, ServiceError> {
    let body = serde_json::to_vec(&snap_body(req))
        .map_err(|e| ServiceError::internal(format!("Snap request: {e}")))?;
    let url = format!("{}/snap/v1/transactions", snap_base.trim_end_matches('/'));
    let (status, bytes) = call(Method::Post, &url, server_key, Some(body))?;
    match status {
        200 | 201 => serde_json::from_slice::<SnapCreated>(&bytes)
            .map(SnapOutcome::Created)
            .map_err(|_| refused(status, &bytes)),
        400 | 409 if is_duplicate(&bytes) => Ok(SnapOutcome::DuplicateOrderId),
        500..=599 => {
            component_support::log::error("payment provider failed", &format!("HTTP {status}"));
            Err(unavailable())
        }
        _ => Err(refused(status, &bytes)),
    }
}

/// Midtrans's "order_id has already been used" (it answers in Indonesian).
fn is_duplicate(body: &[u8]) -> bool {
    serde_json::from_slice::<MidtransErrors>(body).is_ok_and(|e| {
        e.error_messages.iter().any(|m| {
            let m = m.to_ascii_lowercase();
            m.contains("order_id") && (m.contains("sudah digunakan") || m.contains("already"))
        })
    })
}

/// `GET {api}/v2/{order_id}/status`: what Midtrans says now. `None` when it
/// does not know the transaction.
pub fn status(
    api_base: &str,
    server_key: &str,
    gateway_order_id: &str,
) -> Result<Option<TransactionStatus>, ServiceError> {
    let url = format!(
        "{}/v2/{gateway_order_id}/status",
        api_base.trim_end_matches('/')
    );
    let (status, bytes) = call(Method::Get, &url, server_key, None)?;
    match status {
        200 | 201 | 404 => {
            let s: TransactionStatus =
                serde_json::from_slice(&bytes).map_err(|_| refused(status, &bytes))?;
            // Midtrans also answers 200 with a "404" status code inside.
            Ok((s.status_code != "404" && status != 404).then_some(s))
        }
        500..=599 => Err(unavailable()),
        _ => Err(refused(status, &bytes)),
    }
}

/// What Midtrans did with an expire request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireOutcome {
    /// The transaction can no longer be paid.
    Expired,
    /// Midtrans does not know it (never charged, or its Snap reply lost
    /// before the payer saw it): nothing to close.
    Unknown,
    /// It is no longer pending (paid, failed or expired meanwhile): ask its
    /// status.
    NotPending,
}

/// `POST {api}/v2/{order_id}/expire`: a pending transaction can no longer be
/// paid. Midtrans answers errors in the body's `status_code` (sometimes with
/// HTTP 200), so both are read.
pub fn expire(
    api_base: &str,
    server_key: &str,
    gateway_order_id: &str,
) -> Result<ExpireOutcome, ServiceError> {
    let url = format!(
        "{}/v2/{gateway_order_id}/expire",
        api_base.trim_end_matches('/')
    );
    let (status, bytes) = call(Method::Post, &url, server_key, None)?;
    if (500..=599).contains(&status) {
        return Err(unavailable());
    }
    let code = serde_json::from_slice::<TransactionStatus>(&bytes)
        .map(|s| s.status_code)
        .unwrap_or_default();
    match (status, code.as_str()) {
        (200 | 201 | 407, "407" | "200") => Ok(ExpireOutcome::Expired),
        (404, _) | (_, "404") => Ok(ExpireOutcome::Unknown),
        (412, _) | (_, "412") => Ok(ExpireOutcome::NotPending),
        _ => Err(refused(status, &bytes)),
    }
}

/// What Midtrans did with a refund request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundOutcome {
    /// Accepted (now, or already under this refund key).
    Accepted,
    /// Midtrans will not refund it (not settled, or refunded otherwise):
    /// the operator's to look at.
    Refused,
}

/// `POST {api}/v2/{order_id}/refund`, the whole amount, under a refund key
/// of the attempt (a repeated request is the same refund, never a second).
pub fn refund(
    api_base: &str,
    server_key: &str,
    gateway_order_id: &str,
    amount: i64,
    reason: &str,
) -> Result<RefundOutcome, ServiceError> {
    let body = serde_json::to_vec(&RefundRequest {
        amount,
        reason: Some(reason.to_string()),
        refund_key: format!("refund-{gateway_order_id}"),
    })
    .map_err(|e| ServiceError::internal(format!("refund request: {e}")))?;
    let url = format!(
        "{}/v2/{gateway_order_id}/refund",
        api_base.trim_end_matches('/')
    );
    let (status, bytes) = call(Method::Post, &url, server_key, Some(body))?;
    if (500..=599).contains(&status) {
        return Err(unavailable());
    }
    let code = serde_json::from_slice::<TransactionStatus>(&bytes)
        .map(|s| s.status_code)
        .unwrap_or_default();
    match (status, code.as_str()) {
        (200 | 201, "200" | "201") => Ok(RefundOutcome::Accepted),
        (400 | 404 | 412 | 413, _) | (_, "400" | "404" | "412" | "413") => {
            component_support::log::warn(
                "payment provider refused a refund",
                &format!("{gateway_order_id}: HTTP {status}, status_code {code}"),
            );
            Ok(RefundOutcome::Refused)
        }
        _ => Err(refused(status, &bytes)),
    }
}
