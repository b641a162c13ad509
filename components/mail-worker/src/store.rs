//! The mail worker's SQL: one statement per claim, per outcome, per prune.

use component_support::db::{self, Db};
use platform_core::ServiceError;
use spin_sdk::pg4::ParameterValue;

/// How long a claimed mail is ours: past it, a worker that died mid-send
/// leaves the mail due again (and the idempotency key stops a second copy).
const LEASE_SECS: i32 = 120;

/// Deliveries pruned per tick (V16 `prune_mail_deliveries`).
const PRUNE_BATCH: i32 = 1000;

pub struct Claimed {
    pub id: String,
    pub kind: String,
    pub attempts: i32,
    /// `platform_core::mail::Facts` as JSON.
    pub facts: String,
}

pub fn claim(db: &Db, limit: i32) -> Result<Vec<Claimed>, ServiceError> {
    let rs = db.query(
        "SELECT id::text, kind, attempts, facts FROM claim_due_mails($1, $2)",
        &[
            ParameterValue::Int32(limit),
            ParameterValue::Int32(LEASE_SECS),
        ],
    )?;
    rs.rows
        .iter()
        .map(|row| {
            Ok(Claimed {
                id: db::text(row, 0)?,
                kind: db::text(row, 1)?,
                attempts: db::int32(row, 2)?,
                facts: db::text(row, 3)?,
            })
        })
        .collect()
}

/// What became of one claimed mail.
pub enum Finish {
    Sent {
        provider_id: Option<String>,
    },
    Ended {
        reason: String,
    },
    Retry {
        in_secs: u32,
        error: &'static str,
    },
    /// The provider is rate-limited: nothing is claimed for `secs`.
    Paused {
        secs: u32,
    },
}

pub fn finish(db: &Db, id: &str, outcome: Finish) -> Result<(), ServiceError> {
    let (name, detail, secs) = match outcome {
        Finish::Sent { provider_id } => ("sent", provider_id, 0),
        Finish::Ended { reason } => ("ended", Some(reason), 0),
        Finish::Retry { in_secs, error } => ("retry", Some(error.to_string()), in_secs),
        Finish::Paused { secs } => ("paused", Some("provider rate-limited".to_string()), secs),
    };
    db.execute(
        "SELECT finish_mail($1::text::uuid, $2, $3, $4)",
        &[
            ParameterValue::Str(id.to_string()),
            ParameterValue::Str(name.to_string()),
            detail.map_or(ParameterValue::DbNull, ParameterValue::Str),
            ParameterValue::Int32(i32::try_from(secs).unwrap_or(i32::MAX)),
        ],
    )?;
    Ok(())
}

pub fn prune(db: &Db) -> Result<i64, ServiceError> {
    let rs = db.query(
        "SELECT prune_mail_deliveries($1)",
        &[ParameterValue::Int32(PRUNE_BATCH)],
    )?;
    match rs.rows.first() {
        Some(row) => db::int64(row, 0),
        None => Ok(0),
    }
}
