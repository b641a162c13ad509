//! `/health` (liveness) and `/health/ready` (Postgres and Redis answer).

use component_support::config;
use edge::{HttpResult, Reply};
use platform_core::setting::{DATABASE_URL, REDIS_URL};
use platform_core::ServiceError;
use spin_sdk::{pg4, redis};

pub fn live() -> Reply {
    Reply::raw_json(200, r#"{"status":"ok"}"#)
}

// The SDK's Postgres error is large; it is only checked here, never kept.
#[allow(clippy::result_large_err)]
pub fn ready() -> HttpResult {
    let unavailable = |what: &str| ServiceError::unavailable(format!("{what} is unavailable"));
    let pg_ok = pg4::Connection::open(&config::get(&DATABASE_URL)?)
        .and_then(|c| c.query("SELECT 1", &[]))
        .is_ok();
    if !pg_ok {
        return Err(unavailable("postgres").into());
    }
    let redis_ok = redis::Connection::open(&config::get(&REDIS_URL)?)
        .and_then(|c| c.execute("PING", &[]))
        .is_ok();
    if !redis_ok {
        return Err(unavailable("redis").into());
    }
    Ok(live())
}
