//! The per-user token bucket in Redis (one Lua script, Redis clock).

use component_support::config::var;
use platform_core::rate_limit::{BucketConfig, Decision, TOKEN_BUCKET_LUA};
use platform_core::{ApiError, ErrorKind};
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

use crate::reply::Reply;

pub struct Limit {
    pub capacity: i64,
    pub decision: Option<Decision>,
}

/// Takes a token from `bucket`. When Redis cannot answer the request is let
/// through (and logged): the limiter protects the service, it must not take
/// it down.
pub fn take(bucket: &str) -> Result<Limit, ApiError> {
    let config = BucketConfig::parse(
        &var("rate_limit_capacity")?,
        &var("rate_limit_refill_per_sec")?,
    );
    let decision = match run_script(&var("redis_url")?, bucket, config) {
        Ok(d) => Some(d),
        Err(detail) => {
            eprintln!("rate limiter unavailable, allowing request: {detail}");
            None
        }
    };
    if let Some(d) = decision.filter(|d| !d.allowed) {
        return Err(ApiError::new(
            ErrorKind::RateLimited,
            format!(
                "Rate limit exceeded. Please try again later.|{}",
                d.retry_after_secs()
            ),
        ));
    }
    Ok(Limit {
        capacity: config.capacity,
        decision,
    })
}

fn run_script(url: &str, bucket: &str, config: BucketConfig) -> Result<Decision, String> {
    let conn = Connection::open(url).map_err(|e| format!("{e:?}"))?;
    let reply = conn
        .execute(
            "EVAL",
            &[
                RedisParameter::Binary(TOKEN_BUCKET_LUA.as_bytes().to_vec()),
                RedisParameter::Int64(1),
                RedisParameter::Binary(format!("ratelimit:{bucket}").into_bytes()),
                RedisParameter::Int64(config.capacity),
                RedisParameter::Int64(config.refill_per_sec),
            ],
        )
        .map_err(|e| format!("{e:?}"))?;
    let values: Vec<i64> = reply
        .iter()
        .filter_map(|r| match r {
            RedisResult::Int64(n) => Some(*n),
            _ => None,
        })
        .collect();
    Decision::from_reply(&values).ok_or_else(|| format!("unexpected reply {reply:?}"))
}

/// Adds `X-RateLimit-*` headers to a successful reply.
pub fn annotate(reply: Reply, limit: &Limit) -> Reply {
    let reply = reply.with_header("x-ratelimit-limit", limit.capacity.to_string());
    match limit.decision {
        Some(d) => reply.with_header("x-ratelimit-remaining", d.remaining.to_string()),
        None => reply,
    }
}

/// The 429 reply; the retry delay travels in the error message after `|`.
pub fn refusal(err: &ApiError) -> Reply {
    let (message, retry) = err
        .message
        .split_once('|')
        .unwrap_or((err.message.as_str(), "1"));
    Reply::error(&ApiError::new(ErrorKind::RateLimited, message))
        .with_header("retry-after", retry.to_string())
        .with_header("x-ratelimit-remaining", "0")
}
