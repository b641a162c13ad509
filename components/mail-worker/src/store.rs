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
    /// The link a verify / reset mail carries (`account_tokens.id`).
    pub account_token_id: Option<String>,
    /// `platform_core::mail::Facts` as JSON.
    pub facts: String,
}

pub fn claim(db: &Db, limit: i32) -> Result<Vec<Claimed>, ServiceError> {
    let rs = db.query(
        "SELECT id::text, kind, attempts, account_token_id::text, facts \
         FROM claim_due_mails($1, $2)",
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
                account_token_id: db::opt_text(row, 3)?,
                facts: db::text(row, 4)?,
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

/// Stores the hash of the link derived for `token_id` (the same hash again
/// on a retry); the link's lifetime starts at the first issue. `false` when
/// the link is dead: used, expired, or its address changed.
pub fn issue_link(
    db: &Db,
    token_id: &str,
    hash: &str,
    ttl_secs: i32,
) -> Result<bool, ServiceError> {
    let rs = db.query(
        "SELECT issue_account_link($1::text::uuid, $2, $3)::bigint",
        &[
            ParameterValue::Str(token_id.to_string()),
            ParameterValue::Str(hash.to_string()),
            ParameterValue::Int32(ttl_secs),
        ],
    )?;
    let left = rs
        .rows
        .first()
        .map(|row| db::opt_int64(row, 0))
        .transpose()?;
    Ok(left.flatten().is_some())
}

pub fn prune(db: &Db) -> Result<i64, ServiceError> {
    let rs = db.query(
        "SELECT prune_mail_deliveries($1) + prune_account_tokens($1)",
        &[ParameterValue::Int32(PRUNE_BATCH)],
    )?;
    match rs.rows.first() {
        Some(row) => db::int64(row, 0),
        None => Ok(0),
    }
}
