//! Snap's create-transaction, the Core API status check, and the sandbox's
//! own `/simulate` control endpoint (the Core API's actions are in
//! `actions`).

use std::sync::Arc;

use hyper::HeaderMap;
use platform_core::midtrans::{
    basic_auth_user, CreateTransaction, Expiry, MidtransErrors, SnapCreated, TransactionStatus,
};
use serde_json::{json, Value};

use crate::stamps::{jakarta_now, parse_offset_time, unix_now, uuid_like};
use crate::{notification, notification_body, notify, reply, Reply, Shared, Transaction};

const UNAUTHORIZED: &str =
    "Access denied due to unauthorized transaction, please check client or server key";

const STATUSES: [&str; 7] = [
    "settlement",
    "capture",
    "deny",
    "cancel",
    "expire",
    "pending",
    "refund",
];

/// Without `expiry`, a Snap transaction can be paid for a day.
const DEFAULT_WINDOW_SECS: i64 = 24 * 3600;

/// `Authorization: Basic base64(server_key + ":")`, as Midtrans expects.
pub(crate) fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let user = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(basic_auth_user);
    !shared.server_key.is_empty() && user.as_deref() == Some(shared.server_key.as_str())
}

/// Order ids as Midtrans allows them: up to 50 of `A-Za-z0-9-_.~`.
fn valid_order_id(id: &str) -> bool {
    id.len() <= 50
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
}

/// The end of the window of a transaction created at `now`, in Unix
/// seconds: `expiry` from its `start_time` or from `now`.
fn window_end(expiry: Option<&Expiry>, now: i64) -> Result<i64, Vec<String>> {
    let Some(expiry) = expiry else {
        return Ok(now + DEFAULT_WINDOW_SECS);
    };
    let mut errors = Vec::new();
    let unit_secs = match expiry.unit.as_str() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        _ => {
            errors.push("expiry.unit must be minute(s), hour(s) or day(s)".to_string());
            0
        }
    };
    if expiry.duration < 1 {
        errors.push("expiry.duration must be at least 1".into());
    }
    let start = match &expiry.start_time {
        None => Some(now),
        Some(text) => parse_offset_time(text),
    };
    if start.is_none() {
        errors.push(
            "expiry.start_time must be yyyy-MM-dd HH:mm:ss Z, like 2026-12-06 17:00:00 +0700"
                .into(),
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    expiry
        .duration
        .checked_mul(unit_secs)
        .and_then(|secs| start?.checked_add(secs))
        .ok_or_else(|| vec!["expiry.duration is too long".into()])
}

/// Snap's checks on a new transaction beyond its JSON types; every failure
/// is reported, as Midtrans does. Answers when the transaction created at
/// `now` expires.
fn validate(req: &CreateTransaction, now: i64) -> Result<i64, Vec<String>> {
    let mut errors = Vec::new();
    let details = &req.transaction_details;
    if details.order_id.is_empty() {
        errors.push("transaction_details.order_id is required".to_string());
    } else if !valid_order_id(&details.order_id) {
        errors
            .push("transaction_details.order_id must be at most 50 of A-Z a-z 0-9 - _ . ~".into());
    }
    if details.gross_amount < 1 {
        errors
            .push("transaction_details.gross_amount harus sama atau lebih besar dari 0.01".into());
    }
    let items = req.item_details.as_deref().unwrap_or_default();
    for (i, item) in items.iter().enumerate() {
        if item.name.is_empty() {
            errors.push(format!("item_details[{i}].name is required"));
        }
        if item.quantity < 1 {
            errors.push(format!("item_details[{i}].quantity must be at least 1"));
        }
    }
    // Whenever items are sent, Midtrans checks they add up to the total.
    if req.item_details.is_some() && errors.is_empty() {
        let sum = items.iter().try_fold(0i64, |sum, item| {
            sum.checked_add(item.price.checked_mul(item.quantity)?)
        });
        if sum != Some(details.gross_amount) {
            errors.push(
                "transaction_details.gross_amount tidak sama dengan jumlah harga item_details"
                    .into(),
            );
        }
    }
    match window_end(req.expiry.as_ref(), now) {
        Ok(end) if errors.is_empty() => Ok(end),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more);
            Err(errors)
        }
    }
}

fn refuse(status: u16, error_messages: Vec<String>) -> Reply {
    let body = MidtransErrors {
        error_messages,
        ..MidtransErrors::default()
    };
    reply(status, &body)
}

/// `POST /snap/v1/transactions`.
pub(crate) fn create(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Reply {
    if !authorized(shared, headers) {
        return refuse(401, vec![UNAUTHORIZED.into()]);
    }
    let req = match serde_json::from_slice::<CreateTransaction>(body) {
        Ok(req) => req,
        // A missing field or a wrong type: serde's words name the field.
        Err(e) if e.is_data() => {
            return refuse(400, vec![format!("Invalid Snap transaction: {e}")]);
        }
        Err(_) => {
            return refuse(
                400,
                vec!["There was a problem in the JSON you submitted".into()],
            )
        }
    };
    let expires_at = match validate(&req, unix_now()) {
        Ok(expires_at) => expires_at,
        Err(errors) => return refuse(400, errors),
    };
    let customer = req.customer_details.unwrap_or_default();
    let name = [customer.first_name, customer.last_name]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let customer = match customer.email {
        Some(email) if name.is_empty() => email,
        Some(email) => format!("{name} ({email})"),
        None => name,
    };
    // Midtrans's per-transaction webhook: the first of comma-separated URLs.
    let notification_url = headers
        .get("x-override-notification")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').map(str::trim).find(|u| !u.is_empty()))
        .map(str::to_string)
        .unwrap_or_else(|| shared.notification_url.lock().unwrap().clone());
    let token = uuid_like();
    let transaction_id = uuid_like();
    // A BCA virtual account number: 11 digits derived from the id.
    let va_number = transaction_id
        .bytes()
        .filter(u8::is_ascii_hexdigit)
        .map(|b| char::from(b'0' + (b % 10)))
        .take(11)
        .collect();
    let order_id = req.transaction_details.order_id;
    let tx = Transaction {
        order_id: order_id.clone(),
        gross_amount: req.transaction_details.gross_amount,
        items: req.item_details.unwrap_or_default(),
        customer,
        token: token.clone(),
        transaction_id,
        transaction_status: "pending".into(),
        fraud_status: None,
        transaction_time: jakarta_now(),
        settlement_time: None,
        va_number,
        finish_url: req.callbacks.and_then(|c| c.finish),
        notification_url,
        expires_at,
        refunds: Vec::new(),
    };
    let mut state = shared.state.lock().unwrap();
    if state.by_order.contains_key(&order_id) {
        return refuse(
            400,
            vec!["transaction_details.order_id sudah digunakan".into()],
        );
    }
    state.by_order.insert(order_id.clone(), tx);
    state.tokens.insert(token.clone(), order_id);
    let created = SnapCreated {
        redirect_url: format!("{}/snap/v4/redirection/{token}", shared.public_base),
        token,
    };
    reply(201, &created)
}

/// The Core API's answer to a request without the server key.
pub(crate) fn unauthorized() -> Reply {
    let body = MidtransErrors {
        error_messages: vec![UNAUTHORIZED.into()],
        status_code: Some("401".into()),
        status_message: Some(UNAUTHORIZED.into()),
    };
    reply(401, &body)
}

/// The Core API's answer about an order id it does not know.
pub(crate) fn unknown_transaction() -> Reply {
    let body = TransactionStatus {
        status_code: "404".into(),
        status_message: Some("Transaction doesn't exist.".into()),
        ..TransactionStatus::default()
    };
    reply(404, &body)
}

/// `GET /v2/{order_id}/status`.
pub(crate) fn status(shared: &Shared, headers: &HeaderMap, order_id: &str) -> Reply {
    if !authorized(shared, headers) {
        return unauthorized();
    }
    match shared.with_order(order_id, |tx| notification(tx, &shared.server_key)) {
        Some(n) => {
            let body = TransactionStatus {
                status_message: Some("Success, transaction is found".into()),
                ..TransactionStatus::from(n)
            };
            reply(200, &body)
        }
        None => unknown_transaction(),
    }
}

/// `POST /simulate/{order_id}`: what the page's buttons do, for scripts.
pub(crate) async fn simulate(shared: &Arc<Shared>, order_id: &str, body: &[u8]) -> Reply {
    let refuse = |why: String| reply(400, &json!({"error": why}));
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return refuse("the body is not JSON".into());
    };
    let Some(status) = req["transaction_status"]
        .as_str()
        .filter(|s| STATUSES.contains(s))
    else {
        return refuse(format!(
            "transaction_status must be one of {}",
            STATUSES.join(", ")
        ));
    };
    let fraud = match &req["fraud_status"] {
        Value::Null => None,
        Value::String(f) if ["accept", "challenge", "deny"].contains(&f.as_str()) => {
            Some(f.as_str())
        }
        _ => return refuse("fraud_status must be accept, challenge or deny".into()),
    };
    let Some((url, body)) = shared.with_order(order_id, |tx| {
        tx.record(status, fraud);
        (
            tx.notification_url.clone(),
            notification_body(tx, &shared.server_key),
        )
    }) else {
        return reply(404, &json!({"error": format!("no transaction {order_id}")}));
    };
    let webhook_status = notify::deliver(shared, &url, order_id, body.clone()).await;
    reply(
        200,
        &json!({
            "order_id": order_id,
            "transaction_status": status,
            "notification": body,
            "webhook_status": webhook_status,
        }),
    )
}
