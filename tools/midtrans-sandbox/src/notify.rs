//! Delivery of HTTP notifications, retried in the background like Midtrans.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::Shared;

/// Waits between the first attempt and each retry.
const RETRIES: [Duration; 3] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

/// POSTs `body` to `url` and answers the first attempt's HTTP status (None
/// when unreachable); failures are retried by a task nobody waits for.
pub(crate) async fn deliver(
    shared: &Arc<Shared>,
    url: &str,
    order_id: &str,
    body: Value,
) -> Option<u16> {
    if url.is_empty() {
        return None;
    }
    let first = attempt(shared, url, order_id, &body).await;
    if !delivered(first) {
        let (shared, url, order_id) = (shared.clone(), url.to_string(), order_id.to_string());
        tokio::spawn(async move {
            for wait in RETRIES {
                tokio::time::sleep(wait).await;
                if shared.stopped.load(Ordering::Relaxed)
                    || delivered(attempt(&shared, &url, &order_id, &body).await)
                {
                    return;
                }
            }
        });
    }
    first
}

/// How long after answering a Core API action its notification goes out.
/// Midtrans queues notifications and sends them after the answer, never in
/// the same instant. The app must also survive its own webhook overtaking
/// its next statement (tests ask for that order with
/// `Sandbox::notify_actions_before_answering`).
const ACTION_NOTIFY_DELAY: Duration = Duration::from_millis(250);

/// [`deliver`] in a task of its own: the Core API answers its caller
/// first and notifies afterwards, as Midtrans does (a caller waiting for
/// the answer never waits for its own webhook).
pub(crate) fn deliver_later(shared: &Arc<Shared>, url: String, order_id: String, body: Value) {
    let shared = shared.clone();
    tokio::spawn(async move {
        tokio::time::sleep(ACTION_NOTIFY_DELAY).await;
        deliver(&shared, &url, &order_id, body).await;
    });
}

fn delivered(status: Option<u16>) -> bool {
    status.is_some_and(|s| (200..300).contains(&s))
}

async fn attempt(shared: &Shared, url: &str, order_id: &str, body: &Value) -> Option<u16> {
    let status = shared
        .client
        .post(url)
        .json(body)
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16());
    shared
        .state
        .lock()
        .unwrap()
        .notifications
        .push((order_id.to_string(), status.unwrap_or(0)));
    status
}
