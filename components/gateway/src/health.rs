//! `/health` (liveness) and `/health/ready` (Postgres and Redis answer).

use component_support::config::var;
use platform_core::{ApiError, ErrorKind};
use spin_sdk::{pg4, redis};

use crate::reply::Reply;

pub fn live() -> Reply {
    Reply::raw_json(200, r#"{"status":"ok"}"#)
}

// The SDK's Postgres error is large; it is only checked here, never kept.
#[allow(clippy::result_large_err)]
pub fn ready() -> Result<Reply, ApiError> {
    let unavailable =
        |what: &str| ApiError::new(ErrorKind::Unavailable, format!("{what} is unavailable"));
    let pg_ok = pg4::Connection::open(&var("database_url")?)
        .and_then(|c| c.query("SELECT 1", &[]))
        .is_ok();
    if !pg_ok {
        return Err(unavailable("postgres"));
    }
    let redis_ok = redis::Connection::open(&var("redis_url")?)
        .and_then(|c| c.execute("PING", &[]))
        .is_ok();
    if !redis_ok {
        return Err(unavailable("redis"));
    }
    Ok(live())
}
