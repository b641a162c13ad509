//! Redis trigger on `order.created`, `payment.updated`, `mail.due` and
//! `maintenance.tick`: a message only means "look now". Each wake claims the
//! due mails (V16 `claim_due_mails`), sends each through the provider and
//! records the outcome; a tick also retries what failed and prunes old
//! deliveries. No HTTP route ever calls the mail API (docs/decisions/0005 §2).

mod deliver;
mod links;
mod provider;
mod settings;
mod store;

use spin_sdk::redis_component;

/// Mails one wake sends at most (Resend allows 2 requests a second by
/// default: a larger batch only waits on its 429s).
const MAILS_PER_WAKE: i32 = 20;

#[redis_component]
fn on_message(message: bytes::Bytes) -> Result<(), String> {
    let tick = is_tick(&message);
    deliver::wake(MAILS_PER_WAKE, tick).map_err(|e| {
        let error = format!("{e:?}");
        component_support::log::error("mail wake failed; the next wake retries", &error);
        error
    })
}

/// The relay's periodic tick (`{"type": "maintenance.tick"}`).
fn is_tick(message: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Typed<'a> {
        #[serde(rename = "type", borrow)]
        kind: &'a str,
    }
    serde_json::from_slice::<Typed>(message).is_ok_and(|t| t.kind == "maintenance.tick")
}
