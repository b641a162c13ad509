//! `POST /emails` and `GET /emails/{id}`: Resend's send and retrieve.

use std::time::Instant;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{HeaderMap, Response};
use platform_core::resend::{ErrorBody, SendOk, IDEMPOTENCY_KEY_MAX};
use serde_json::Value;

use crate::idempotency::Begin;
use crate::message::Message;
use crate::stamps::{new_id, now_utc};
use crate::{json, resend_error, Dropped, Reply, Shared};

/// `Authorization: Bearer <key>`: 401 without a key, 403 with another.
fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<(), ErrorBody> {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim())
        .filter(|key| !key.is_empty());
    match bearer {
        None => Err(ErrorBody::new(
            401,
            "missing_api_key",
            "Missing API key in the authorization header.",
        )),
        Some(key) if shared.api_key.is_empty() || key != shared.api_key => Err(ErrorBody::new(
            403,
            "invalid_api_key",
            "API key is invalid.",
        )),
        Some(_) => Ok(()),
    }
}

/// The `Idempotency-Key` header, if sent: 1 to 256 characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ErrorBody> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if !key.is_empty() && key.chars().count() <= IDEMPOTENCY_KEY_MAX => {
            Ok(Some(key.to_string()))
        }
        _ => Err(ErrorBody::new(
            400,
            "invalid_idempotency_key",
            "The key must be between 1-256 chars.",
        )),
    }
}

/// Forgets the key of a send whose client went away before it finished.
struct InProgress<'a> {
    shared: &'a Shared,
    key: Option<&'a str>,
}

impl Drop for InProgress<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.shared.state().idempotency.abandon(key);
        }
    }
}

/// `POST /emails`: checks in Resend's order (key, then the fault a test
/// set, then the body), then the idempotency record, then stores the mail.
pub(crate) async fn send(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Reply, Dropped> {
    let refused = |error: ErrorBody| {
        shared.state().stats.refused += 1;
        Ok(json(error.status_code, &error))
    };
    if let Err(error) = authorize(shared, headers) {
        return refused(error);
    }
    if let Some(reply) = {
        let mut state = shared.state();
        let fault = state.faults.take_status();
        state.stats.faulted += u64::from(fault.is_some());
        fault
    } {
        return Ok(reply);
    }
    let key = match idempotency_key(headers) {
        Ok(key) => key,
        Err(error) => return refused(error),
    };
    let (mail, value) = match crate::validate::parse(body) {
        Ok(parsed) => parsed,
        Err(error) => return refused(error),
    };
    let delay = {
        let mut state = shared.state();
        if let Some(key) = &key {
            match state.idempotency.begin(key, &value, Instant::now()) {
                Begin::Fresh => {}
                Begin::Replay(status, bytes) => {
                    state.stats.replayed += 1;
                    return Ok(replay(status, bytes));
                }
                Begin::Conflict(name) => {
                    state.stats.refused += 1;
                    let message = match name {
                        "invalid_idempotent_request" => {
                            "Same idempotency key used with a different request payload."
                        }
                        _ => {
                            "Same idempotency key used while original request is still in progress."
                        }
                    };
                    return Ok(resend_error(409, name, message));
                }
            }
        }
        state.faults.delay
    };
    let mut pending = InProgress {
        shared,
        key: key.as_deref(),
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let id = new_id();
    let answer = serde_json::to_vec(&SendOk { id: id.clone() }).expect("JSON");
    let answer = Bytes::from(answer);
    let message = Message::new(id, mail, key.clone(), now_utc());
    let announce = format!(
        "mail-sink: mail to {}: {} ({})",
        message.to.join(", "),
        message.subject,
        message.kind.as_deref().unwrap_or("no kind")
    );
    let dropped = {
        let mut state = shared.state();
        if let Some(key) = &key {
            state.idempotency.finish(key, &value, (200, answer.clone()));
        }
        pending.key = None;
        state.messages.push(message);
        state.stats.accepted += 1;
        state.faults.take_drop()
    };
    if shared.announce {
        println!("{announce}");
    }
    if dropped {
        return Err(Dropped);
    }
    Ok(replay(200, answer))
}

fn replay(status: u16, body: Bytes) -> Reply {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(body))
        .unwrap()
}

/// `GET /emails/{id}`.
pub(crate) fn retrieve(shared: &Shared, headers: &HeaderMap, id: &str) -> Reply {
    if let Err(error) = authorize(shared, headers) {
        return json(error.status_code, &error);
    }
    let found: Option<Value> = shared
        .state()
        .messages
        .iter()
        .find(|m| m.id == id)
        .map(Message::retrieved);
    match found {
        Some(email) => json(200, &email),
        None => resend_error(404, "not_found", "Email not found."),
    }
}
