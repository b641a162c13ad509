//! Token buckets taken in one `TAKE_TOKENS_LUA` call on a request's Redis
//! connection: by the edge's limiter (`edge::rate_limit`), and by a service
//! that takes its caller's token on the connection it opens for its own
//! writes anyway (`shop:platform/types.token-bucket`), so the request opens
//! one connection, not two (Spin connects on every open).

use platform_core::rate_limit::{BucketConfig, Decision, TAKE_TOKENS_LUA};
use platform_core::ServiceError;

use crate::cache::Cache;
use crate::wit::types::{BucketStanding, TokenBucket};

/// What the script said about the buckets.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    /// One decision per bucket, in order.
    Decided(Vec<Decision>),
    /// Redis could not answer; `answered`: it answered something else than
    /// the script's triples (the connection's failure is logged where it
    /// happened).
    Unanswered { answered: bool },
}

/// Takes a token from each `(key, config)` bucket in one script call.
pub fn take_tokens(cache: &mut Cache, buckets: &[(&str, BucketConfig)]) -> Taken {
    let keys: Vec<&str> = buckets.iter().map(|(key, _)| *key).collect();
    let args: Vec<String> = buckets
        .iter()
        .flat_map(|(_, config)| config.script_args())
        .collect();
    let values = cache.eval_ints(TAKE_TOKENS_LUA, &keys, &args);
    match values.as_deref().and_then(Decision::all_from_reply) {
        Some(decisions) if decisions.len() == buckets.len() => Taken::Decided(decisions),
        _ => Taken::Unanswered {
            answered: values.is_some(),
        },
    }
}

/// A service's take of its caller's token from `bucket`, when the caller
/// passed one: the standing when admitted, `rate-limited` when the bucket is
/// empty, `None` (logged) when Redis cannot answer — the caller's routes
/// fail open.
pub fn take_for_caller(
    cache: &mut Cache,
    bucket: Option<&TokenBucket>,
) -> Result<Option<BucketStanding>, ServiceError> {
    let Some(bucket) = bucket else {
        return Ok(None);
    };
    let config = BucketConfig {
        capacity: bucket.capacity,
        refill_per_sec: bucket.refill_per_sec,
    };
    match take_tokens(cache, &[(&bucket.key, config)]) {
        Taken::Decided(decisions) => match decisions[..] {
            [d] if d.allowed => Ok(Some(BucketStanding {
                remaining: d.remaining,
                wait_ms: d.wait_ms,
            })),
            [d] => Err(ServiceError::RateLimited(d.refusal(&bucket.policy, config))),
            _ => Ok(None),
        },
        Taken::Unanswered { answered } => {
            if answered {
                crate::log::warn("rate limiter gave an unexpected reply", &bucket.policy);
            }
            Ok(None)
        }
    }
}
