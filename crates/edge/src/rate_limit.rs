//! Token buckets in Redis: one script call takes a token from every bucket a
//! request counts against (per user, per client address, per email), on the
//! Redis clock, by `EVALSHA`.

use component_support::cache::Cache;
use component_support::config;
use platform_core::rate_limit::{Bucket, BucketConfig, Decision, TAKE_TOKENS_LUA};
use platform_core::setting::{self, REDIS_URL};
use platform_core::ServiceError;
use spin_sdk::redis::RedisResult;

use crate::context::Context;
use crate::rate_limit_fields::{policy_field, state_field};
use crate::reply::Reply;
use crate::settings::{RATE_LIMIT_CAPACITY, RATE_LIMIT_REFILL_PER_SEC};

/// The per-user bucket of a write route (`rate_limit_capacity` /
/// `rate_limit_refill_per_sec`, 20 and 10 by default).
pub fn per_user(policy: &'static str, user_id: i64) -> Result<Bucket, ServiceError> {
    Ok(Bucket {
        policy,
        key: format!("ratelimit:{policy}:user:{user_id}"),
        config: BucketConfig {
            // Both within u32 by their bounds.
            capacity: u32::try_from(config::get(&RATE_LIMIT_CAPACITY)?).unwrap_or(u32::MAX),
            refill_per_sec: config::get(&RATE_LIMIT_REFILL_PER_SEC)? as f64,
        },
    })
}

/// A bucket whose numbers are `setting` (`capacity/refill`, or `off`: then
/// no bucket). `subject` names what is counted.
pub fn configured(
    policy: &'static str,
    setting: &setting::Bucket,
    subject: &str,
) -> Result<Option<Bucket>, ServiceError> {
    let config = config::get(setting)?;
    Ok(config.map(|config| Bucket {
        policy,
        key: format!("ratelimit:{policy}:{subject}"),
        config,
    }))
}

/// An admitted request's standing in its buckets (not kept when Redis
/// could not answer and the request was let through).
pub struct Admitted {
    buckets: Vec<Bucket>,
    decisions: Vec<Decision>,
}

/// Takes a token from each of `buckets`; a refusal is
/// `ServiceError::RateLimited` carrying the refusing policy's numbers. The
/// admission is kept in `ctx`, so every reply of the request — success or
/// error — carries the `RateLimit` fields (a guesser's 401 says how many
/// attempts are left, as a 200 does). When Redis cannot answer the request
/// is let through (and logged): the limiter protects the service, it must
/// not take it down.
pub fn take(ctx: &mut Context, buckets: Vec<Bucket>) -> Result<(), ServiceError> {
    if buckets.is_empty() {
        return Ok(());
    }
    let mut cache = Cache::for_purpose(config::get(&REDIS_URL)?, "rate limiter");
    let keys: Vec<&str> = buckets.iter().map(|b| b.key.as_str()).collect();
    let args: Vec<String> = buckets
        .iter()
        .flat_map(|b| b.config.script_args())
        .collect();
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    let decisions = cache
        .eval_values(TAKE_TOKENS_LUA, &keys, &args)
        .and_then(|reply| {
            let values: Vec<i64> = reply
                .iter()
                .filter_map(|r| match r {
                    RedisResult::Int64(n) => Some(*n),
                    _ => None,
                })
                .collect();
            let decisions = Decision::all_from_reply(&values);
            if decisions.is_none() {
                component_support::log::warn(
                    "rate limiter gave an unexpected reply, allowing request",
                    &format!("{reply:?}"),
                );
            }
            decisions
        });
    if let Some(decisions) = &decisions {
        if let Some((bucket, refused)) = buckets.iter().zip(decisions).find(|(_, d)| !d.allowed) {
            return Err(ServiceError::RateLimited(
                refused.refusal(bucket.policy, bucket.config),
            ));
        }
    }
    if let Some(decisions) = decisions {
        ctx.admitted = Some(Admitted { buckets, decisions });
    }
    Ok(())
}

impl Admitted {
    /// Adds the IETF `RateLimit-Policy` and `RateLimit` fields.
    pub(crate) fn annotate(&self, reply: Reply) -> Reply {
        let decisions = &self.decisions;
        let policies = policy_field(
            self.buckets
                .iter()
                .map(|b| (b.policy, b.config.capacity, b.config.window_secs())),
        );
        let states = state_field(
            self.buckets
                .iter()
                .zip(decisions)
                .map(|(b, d)| (b.policy, d.remaining, d.reset_secs(b.config))),
        );
        reply
            .with_header("ratelimit-policy", policies)
            .with_header("ratelimit", states)
    }
}
