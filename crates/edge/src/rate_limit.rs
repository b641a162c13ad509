//! Token buckets in Redis: one script call takes a token from every bucket a
//! request counts against (per user, per client address, per email), on the
//! Redis clock, by `EVALSHA`.

use component_support::cache::Cache;
use component_support::config::var;
use platform_core::rate_limit::{
    policy_field, state_field, Bucket, BucketConfig, Decision, TAKE_TOKENS_LUA,
};
use platform_core::ServiceError;
use spin_sdk::redis::RedisResult;

use crate::context::Context;
use crate::error::HttpError;
use crate::reply::Reply;

/// The per-user bucket of a write route (`rate_limit_capacity` /
/// `rate_limit_refill_per_sec`, 20 and 10 by default).
pub fn per_user(policy: &'static str, user_id: i64) -> Result<Bucket, ServiceError> {
    Ok(Bucket {
        policy,
        key: format!("ratelimit:{policy}:user:{user_id}"),
        config: BucketConfig::parse(
            &var("rate_limit_capacity")?,
            &var("rate_limit_refill_per_sec")?,
        ),
    })
}

/// A bucket whose numbers are the variable `setting` (`capacity/refill`,
/// or `off`: then no bucket). `subject` names what is counted.
pub fn configured(
    policy: &'static str,
    setting: &str,
    subject: &str,
) -> Result<Option<Bucket>, ServiceError> {
    let config = BucketConfig::parse_setting(&var(setting)?)
        .map_err(|e| ServiceError::internal(format!("variable {setting}: {e}")))?;
    Ok(config.map(|config| Bucket {
        policy,
        key: format!("ratelimit:{policy}:{subject}"),
        config,
    }))
}

/// An admitted request's standing in its buckets.
pub struct Admitted {
    buckets: Vec<Bucket>,
    /// `None` when Redis could not answer (the request was let through).
    decisions: Option<Vec<Decision>>,
}

/// Takes a token from each of `buckets`; a refusal is
/// `ServiceError::RateLimited` carrying the refusing policy's numbers. When
/// Redis cannot answer the request is let through (and logged): the limiter
/// protects the service, it must not take it down.
pub fn take(buckets: Vec<Bucket>) -> Result<Admitted, ServiceError> {
    if buckets.is_empty() {
        return Ok(Admitted {
            buckets,
            decisions: None,
        });
    }
    let mut cache = Cache::for_purpose(var("redis_url")?, "rate limiter");
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
    Ok(Admitted { buckets, decisions })
}

impl Admitted {
    /// The handler's outcome with the fields on it, success or failure (a
    /// guesser's 401 says how many attempts are left, as a 200 does).
    pub fn around(&self, ctx: &Context, result: Result<Reply, HttpError>) -> Reply {
        self.annotate(result.unwrap_or_else(|e| e.into_reply(ctx)))
    }

    /// Adds the IETF `RateLimit-Policy` and `RateLimit` fields.
    pub fn annotate(&self, reply: Reply) -> Reply {
        let Some(decisions) = &self.decisions else {
            return reply;
        };
        if self.buckets.is_empty() {
            return reply;
        }
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
