//! Redis trigger on `maintenance.tick` (published by the relay's leader
//! every `--maintenance-every-secs`): one bounded sweep of the payments
//! service — due orders asked about, expired or rescheduled; owed refunds
//! asked again (docs/decisions/0004). A tick anyone else publishes only
//! runs the same bounded, idempotent work early.

component_support::bindings!("maintenance-worker");

use serde::{Deserialize, Serialize};
use spin_sdk::redis_component;

/// Orders one tick looks at (the service caps it too).
const ORDERS_PER_TICK: u32 = 200;

#[derive(Deserialize)]
struct Tick {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize)]
struct Swept {
    level: &'static str,
    msg: &'static str,
    claimed: u32,
    settled: u32,
    expired: u32,
    waiting: u32,
    failed: u32,
    refunds_requested: u32,
}

#[redis_component]
fn on_message(message: bytes::Bytes) -> Result<(), String> {
    match serde_json::from_slice::<Tick>(&message) {
        Ok(tick) if tick.kind == "maintenance.tick" => {}
        _ => {
            component_support::log::warn("not a maintenance tick; ignored", "");
            return Ok(());
        }
    }
    let report = shop::platform::payments::sweep(ORDERS_PER_TICK).map_err(|e| {
        let error = format!("{:?}", platform_core::ServiceError::from(e));
        component_support::log::error("sweep failed; the next tick retries", &error);
        error
    })?;
    if report.claimed > 0 || report.refunds_requested > 0 {
        component_support::log::line(&Swept {
            level: "info",
            msg: "sweep",
            claimed: report.claimed,
            settled: report.settled,
            expired: report.expired,
            waiting: report.waiting,
            failed: report.failed,
            refunds_requested: report.refunds_requested,
        });
    }
    Ok(())
}
