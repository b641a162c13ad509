//! One `maintenance.tick`'s work: a bounded batch of due pending orders —
//! each asked about (reconciliation: a lost webhook never leaves a paid
//! order pending), expired when its time is up, or looked at again later —
//! and the refunds still owed. Claimed orders are leased, so overlapping
//! sweeps share the work; an order whose look failed is due again when its
//! lease ends.

use component_support::config;
use platform_core::ServiceError;

use super::store::{self, Ending};
use super::{refund, settle, Gateway, Settled};
use crate::exports::shop::platform::payments::SweepReport;
use crate::service::{db, Publisher};
use crate::settings;

/// Most orders one sweep looks at, whatever the caller asks.
const MAX_BATCH: u32 = 500;
/// How long a claimed order is the sweep's before another may take it.
const LEASE_SECS: i32 = 120;
/// Owed refunds asked again per sweep.
const REFUNDS_PER_SWEEP: i32 = 20;

pub fn sweep(limit: u32) -> Result<SweepReport, ServiceError> {
    let db = db()?;
    let gateway = Gateway::from_settings()?;
    let unpaid_ttl = config::get(&settings::ORDER_UNPAID_TTL_SECS)? as f64;
    let views = store::claim_due(&db, limit.min(MAX_BATCH), LEASE_SECS)?;
    let mut report = SweepReport {
        claimed: u32::try_from(views.len()).unwrap_or(u32::MAX),
        settled: 0,
        expired: 0,
        waiting: 0,
        failed: 0,
        refunds_requested: 0,
    };
    let mut publisher = Publisher::default();
    for view in &views {
        let step = view.step(unpaid_ttl);
        match settle(&db, &gateway, &mut publisher, view, &step, Ending::Expired) {
            Ok(Settled::Paid | Settled::EndedAtMidtrans { .. }) => report.settled += 1,
            Ok(Settled::Closed) => report.expired += 1,
            Ok(Settled::Waiting) => report.waiting += 1,
            Ok(Settled::Final { .. }) => {}
            Err(e) => {
                report.failed += 1;
                component_support::log::warn(
                    "order left for the next sweep",
                    &format!("order {}: {e:?}", view.order_id),
                );
            }
        }
    }
    match refund::retry_owed(&db, &gateway, REFUNDS_PER_SWEEP) {
        Ok(accepted) => report.refunds_requested = accepted,
        Err(e) => {
            component_support::log::warn("owed refunds left for the next sweep", &format!("{e:?}"))
        }
    }
    Ok(report)
}
