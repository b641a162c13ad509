//! Token buckets in Redis (one Lua script, Redis clock).

use component_support::config::var;
use platform_core::rate_limit::{BucketConfig, Decision, TOKEN_BUCKET_LUA};
use platform_core::ServiceError;
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

use crate::reply::Reply;

/// An admitted request's standing in its bucket.
pub struct Admitted {
    capacity: i64,
    /// `None` when Redis could not answer (the request was let through).
    remaining: Option<i64>,
}

/// Takes a token from `bucket`; a refusal is `ServiceError::RateLimited`
/// carrying its numbers. When Redis cannot answer the request is let
/// through (and logged): the limiter protects the service, it must not take
/// it down.
pub fn take(bucket: &str) -> Result<Admitted, ServiceError> {
    let config = BucketConfig::parse(
        &var("rate_limit_capacity")?,
        &var("rate_limit_refill_per_sec")?,
    );
    let decision = match run_script(&var("redis_url")?, bucket, config) {
        Ok(d) => Some(d),
        Err(detail) => {
            component_support::log::warn("rate limiter unavailable, allowing request", &detail);
            None
        }
    };
    match decision {
        Some(d) if !d.allowed => Err(ServiceError::RateLimited(d.refusal(config))),
        d => Ok(Admitted {
            capacity: config.capacity,
            remaining: d.map(|d| d.remaining),
        }),
    }
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

impl Admitted {
    /// Adds `X-RateLimit-*` headers to a successful reply.
    pub fn annotate(&self, reply: Reply) -> Reply {
        let reply = reply.with_header("x-ratelimit-limit", self.capacity.to_string());
        match self.remaining {
            Some(n) => reply.with_header("x-ratelimit-remaining", n.to_string()),
            None => reply,
        }
    }
}
