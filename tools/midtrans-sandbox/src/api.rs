//! Snap's create-transaction, the Core API status check, and the sandbox's
//! own `/simulate` control endpoint.

use std::sync::Arc;

use ct_codecs::{Base64, Decoder};
use hyper::HeaderMap;
use serde_json::{json, Value};

use crate::stamps::{jakarta_now, uuid_like};
use crate::{notification_body, notify, reply, Item, Reply, Shared, Transaction};

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

/// `Authorization: Basic base64(server_key + ":")`, as Midtrans expects.
fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let Some((scheme, credentials)) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
    else {
        return false;
    };
    let Ok(decoded) = Base64::decode_to_vec(credentials.trim(), None) else {
        return false;
    };
    scheme.eq_ignore_ascii_case("basic")
        && !shared.server_key.is_empty()
        && decoded
            .strip_prefix(shared.server_key.as_bytes())
            .is_some_and(|rest| rest.first() == Some(&b':'))
}

/// A whole number of rupiah (None when absent), or why the value is not one.
fn whole(v: &Value) -> Result<Option<i64>, &'static str> {
    let Some(n) = v.as_number() else {
        return if v.is_null() {
            Ok(None)
        } else {
            Err("is not a number")
        };
    };
    match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => Ok(Some(i)),
        (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => Ok(Some(f as i64)),
        _ => Err("must be whole rupiah: IDR has no minor unit"),
    }
}

/// Order ids as Midtrans allows them: up to 50 of `A-Za-z0-9-_.~`.
fn valid_order_id(id: &str) -> bool {
    id.len() <= 50
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
}

/// Snap's checks on a new transaction; every failure is reported, as Midtrans does.
fn validate(req: &Value) -> Result<(String, i64, Vec<Item>), Vec<String>> {
    let mut errors = Vec::new();
    let order_id = match &req["transaction_details"]["order_id"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    if order_id.is_empty() {
        errors.push("transaction_details.order_id is required".to_string());
    } else if !valid_order_id(&order_id) {
        errors
            .push("transaction_details.order_id must be at most 50 of A-Z a-z 0-9 - _ . ~".into());
    }
    let gross_amount = match whole(&req["transaction_details"]["gross_amount"]) {
        Ok(Some(amount)) if amount >= 1 => amount,
        Ok(Some(_)) => {
            errors.push(
                "transaction_details.gross_amount harus sama atau lebih besar dari 0.01".into(),
            );
            0
        }
        Ok(None) => {
            errors.push("transaction_details.gross_amount is required".into());
            0
        }
        Err(why) => {
            errors.push(format!("transaction_details.gross_amount {why}"));
            0
        }
    };
    let mut items = Vec::new();
    let given = req["item_details"].as_array();
    for (i, item) in given.into_iter().flatten().enumerate() {
        let mut field = |name: &str| match whole(&item[name]) {
            Ok(Some(n)) => Some(n),
            Ok(None) => {
                errors.push(format!("item_details[{i}].{name} is required"));
                None
            }
            Err(why) => {
                errors.push(format!("item_details[{i}].{name} {why}"));
                None
            }
        };
        let (price, quantity) = (field("price"), field("quantity"));
        let name = item["name"].as_str().unwrap_or_default();
        if name.is_empty() {
            errors.push(format!("item_details[{i}].name is required"));
        }
        if quantity.is_some_and(|q| q < 1) {
            errors.push(format!("item_details[{i}].quantity must be at least 1"));
        }
        let id = match &item["id"] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        if let (Some(price), Some(quantity)) = (price, quantity) {
            let name = name.to_string();
            items.push(Item {
                id,
                name,
                price,
                quantity,
            });
        }
    }
    // Whenever items are sent, Midtrans checks they add up to the total.
    if given.is_some() && errors.is_empty() {
        let sum = items.iter().try_fold(0i64, |sum, item| {
            sum.checked_add(item.price.checked_mul(item.quantity)?)
        });
        if sum != Some(gross_amount) {
            errors.push(
                "transaction_details.gross_amount tidak sama dengan jumlah harga item_details"
                    .into(),
            );
        }
    }
    if errors.is_empty() {
        Ok((order_id, gross_amount, items))
    } else {
        Err(errors)
    }
}

/// `POST /snap/v1/transactions`.
pub(crate) fn create(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Reply {
    if !authorized(shared, headers) {
        return reply(401, json!({"error_messages": [UNAUTHORIZED]}));
    }
    let refuse = |errors: Vec<String>| reply(400, json!({"error_messages": errors}));
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return refuse(vec!["There was a problem in the JSON you submitted".into()]);
    };
    let (order_id, gross_amount, items) = match validate(&req) {
        Ok(valid) => valid,
        Err(errors) => return refuse(errors),
    };
    let person = &req["customer_details"];
    let name = [&person["first_name"], &person["last_name"]]
        .into_iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    let customer = match person["email"].as_str() {
        Some(email) if name.is_empty() => email.to_string(),
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
    let tx = Transaction {
        order_id: order_id.clone(),
        gross_amount,
        items,
        customer,
        token: token.clone(),
        transaction_id,
        transaction_status: "pending".into(),
        fraud_status: None,
        transaction_time: jakarta_now(),
        settlement_time: None,
        va_number,
        finish_url: req["callbacks"]["finish"].as_str().map(str::to_string),
        notification_url,
    };
    let mut state = shared.state.lock().unwrap();
    if state.by_order.contains_key(&order_id) {
        return refuse(vec!["transaction_details.order_id sudah digunakan".into()]);
    }
    state.by_order.insert(order_id.clone(), tx);
    state.tokens.insert(token.clone(), order_id);
    reply(
        201,
        json!({
            "token": token,
            "redirect_url": format!("{}/snap/v4/redirection/{token}", shared.public_base),
        }),
    )
}

/// `GET /v2/{order_id}/status`.
pub(crate) fn status(shared: &Shared, headers: &HeaderMap, order_id: &str) -> Reply {
    if !authorized(shared, headers) {
        return reply(
            401,
            json!({"status_code": "401", "status_message": UNAUTHORIZED, "error_messages": [UNAUTHORIZED]}),
        );
    }
    match shared.with_order(order_id, |tx| notification_body(tx, &shared.server_key)) {
        Some(mut body) => {
            body["status_message"] = json!("Success, transaction is found");
            reply(200, body)
        }
        None => reply(
            404,
            json!({"status_code": "404", "status_message": "Transaction doesn't exist."}),
        ),
    }
}

/// `POST /simulate/{order_id}`: what the page's buttons do, for scripts.
pub(crate) async fn simulate(shared: &Arc<Shared>, order_id: &str, body: &[u8]) -> Reply {
    let refuse = |why: String| reply(400, json!({"error": why}));
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
        return reply(404, json!({"error": format!("no transaction {order_id}")}));
    };
    let webhook_status = notify::deliver(shared, &url, order_id, body.clone()).await;
    reply(
        200,
        json!({
            "order_id": order_id,
            "transaction_status": status,
            "notification": body,
            "webhook_status": webhook_status,
        }),
    )
}
