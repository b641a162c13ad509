//! Token buckets in Redis: one script call takes a token from every bucket a
//! request counts against (per user, per client address, per email), on the
//! Redis clock, by `EVALSHA`.

use component_support::config;
use component_support::limiter::{self, Taken};
use component_support::wit::types::BucketStanding;
use platform_core::rate_limit::{
    Bucket, BucketConfig, Decision, SignInReply, KNOWN_ADDRESS_SECS, SETTLE_SIGN_IN_LUA,
    TAKE_SIGN_IN_LUA,
};
use platform_core::setting;
use platform_core::ServiceError;

use crate::context::Context;
use crate::rate_limit_fields::{policy_field, state_field};
use crate::reply::Reply;
use crate::settings::RATE_LIMIT;

/// The per-user bucket of a write route (`rate_limit`, `20/10` by
/// default; none when `off`).
pub fn per_user(policy: &'static str, user_id: i64) -> Result<Vec<Bucket>, ServiceError> {
    user_bucket(policy, user_id).map(|b| b.into_iter().collect())
}

/// The same bucket, for a route whose service takes the token itself on
/// the Redis connection it opens anyway (`admitted_by_service`).
pub fn user_bucket(policy: &'static str, user_id: i64) -> Result<Option<Bucket>, ServiceError> {
    configured(policy, &RATE_LIMIT, &format!("user:{user_id}"))
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

/// What a route does when Redis cannot answer its limiter (down, out of
/// memory under `noeviction`, a script error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fail {
    /// Let the request through (logged): capacity guards on authenticated or
    /// cached routes, where Postgres keeps every invariant and refusing
    /// orders because Redis is full would lose money and protect no one.
    Open,
    /// 503 with `Retry-After`: the sign-in, sign-up and account-link routes,
    /// where the buckets are the only barrier between a guesser (or a mail
    /// cannon) and argon2, mailboxes and accounts.
    Closed,
}

/// What the auth routes answer when their limiter cannot count.
const LIMITER_DOWN: &str = "Sign-in is briefly unavailable; try again in a few seconds";

/// Takes a token from each of `buckets`; a refusal is
/// `ServiceError::RateLimited` carrying the refusing policy's numbers. The
/// admission is kept in `ctx`, so every reply of the request — success or
/// error — carries the `RateLimit` fields (a guesser's 401 says how many
/// attempts are left, as a 200 does). When Redis cannot answer, `fail`
/// decides (logged either way).
pub fn take(ctx: &mut Context, buckets: Vec<Bucket>, fail: Fail) -> Result<(), ServiceError> {
    if buckets.is_empty() {
        return Ok(());
    }
    let Some(redis) = ctx.redis() else {
        return failed(fail, false);
    };
    let pairs: Vec<(&str, BucketConfig)> =
        buckets.iter().map(|b| (b.key.as_str(), b.config)).collect();
    match limiter::take_tokens(redis, &pairs) {
        Taken::Decided(decisions) => admit(ctx, buckets, decisions),
        Taken::Unanswered { answered } => failed(fail, answered),
    }
}

/// The service admitted the request with this standing in `bucket` (when
/// both are known): the reply carries the `RateLimit` fields as if the edge
/// had taken the token.
pub fn admitted_by_service(
    ctx: &mut Context,
    bucket: Option<Bucket>,
    standing: Option<BucketStanding>,
) {
    let (Some(bucket), Some(standing)) = (bucket, standing) else {
        return;
    };
    let decision = Decision {
        allowed: true,
        remaining: standing.remaining,
        wait_ms: standing.wait_ms,
    };
    ctx.admitted = Some(Admitted {
        buckets: vec![bucket],
        decisions: vec![decision],
    });
}

fn admit(
    ctx: &mut Context,
    buckets: Vec<Bucket>,
    decisions: Vec<Decision>,
) -> Result<(), ServiceError> {
    if let Some((bucket, refused)) = buckets.iter().zip(&decisions).find(|(_, d)| !d.allowed) {
        return Err(ServiceError::RateLimited(
            refused.refusal(bucket.policy, bucket.config),
        ));
    }
    ctx.admitted = Some(Admitted { buckets, decisions });
    Ok(())
}

/// Runs a limiter script on the request's Redis connection (opened once,
/// kept in `ctx` for the rest of the request); its integers, or `None` when
/// Redis could not answer.
fn eval(ctx: &mut Context, script: &str, keys: &[&str], args: &[String]) -> Option<Vec<i64>> {
    ctx.redis()?.eval_ints(script, keys, args)
}

/// The limiter could not count: `answered` tells a strange reply from no
/// reply (the connection's failure is logged where it happened).
fn failed(fail: Fail, answered: bool) -> Result<(), ServiceError> {
    match fail {
        Fail::Open => {
            if answered {
                component_support::log::warn("rate limiter gave an unexpected reply", "");
            }
            Ok(())
        }
        Fail::Closed => Err(limiter_down(answered)),
    }
}

fn limiter_down(answered: bool) -> ServiceError {
    if answered {
        component_support::log::warn("rate limiter gave an unexpected reply", "");
    }
    ServiceError::unavailable(LIMITER_DOWN)
}

/// A sign-in's limits (docs/decisions/0005 §4d): every attempt costs the
/// client address a token; only failures cost the email × address bucket
/// and the account's, because `settle_sign_in` gives a success's back.
pub struct SignIn {
    pub address: Option<Bucket>,
    pub failures: Option<Bucket>,
    pub account: Option<Bucket>,
    /// The marker of an address that signed in to this account before.
    pub known_key: String,
}

/// What `settle_sign_in` needs to give a success's tokens back.
pub struct SignInTaken {
    failures: Option<Bucket>,
    account: Option<Bucket>,
    account_counted: bool,
    known_key: String,
}

/// Takes a sign-in attempt's tokens (fails closed). On success the caller
/// passes the result to `settle_sign_in`.
pub fn take_sign_in(ctx: &mut Context, limits: SignIn) -> Result<SignInTaken, ServiceError> {
    let slots = [&limits.address, &limits.failures, &limits.account];
    if slots.iter().all(|slot| slot.is_none()) {
        // Every sign-in limit is off: nothing to count, nothing to ask.
        return Ok(SignInTaken {
            failures: None,
            account: None,
            account_counted: false,
            known_key: limits.known_key,
        });
    }
    let mut keys: Vec<&str> = slots
        .iter()
        .map(|b| b.as_ref().map_or("-", |b| b.key.as_str()))
        .collect();
    keys.push(&limits.known_key);
    let args: Vec<String> = slots
        .iter()
        .flat_map(|b| BucketConfig::script_args_or_none(b.as_ref().map(|b| b.config)))
        .collect();
    let values = eval(ctx, TAKE_SIGN_IN_LUA, &keys, &args);
    let Some(reply) = values.as_deref().and_then(SignInReply::from_reply) else {
        return Err(limiter_down(values.is_some()));
    };
    let consulted: Vec<Bucket> = [&limits.address, &limits.failures, &limits.account]
        .into_iter()
        .flatten()
        .take(reply.decisions.len())
        .cloned()
        .collect();
    if consulted.len() != reply.decisions.len() {
        return Err(limiter_down(true));
    }
    admit(ctx, consulted, reply.decisions)?;
    Ok(SignInTaken {
        failures: limits.failures,
        account: limits.account,
        account_counted: reply.account_counted,
        known_key: limits.known_key,
    })
}

/// A sign-in succeeded: its failure tokens back, and its address known to
/// the account. Best effort: a lost settle costs the owner one token.
pub fn settle_sign_in(ctx: &mut Context, taken: SignInTaken) {
    if taken.failures.is_none() && taken.account.is_none() {
        // No failure buckets to refund, no ceiling a known address passes.
        return;
    }
    let failures = taken.failures.as_ref();
    let account = taken.account.as_ref().filter(|_| taken.account_counted);
    let keys = [
        failures.map_or("-", |b| b.key.as_str()),
        account.map_or("-", |b| b.key.as_str()),
        taken.known_key.as_str(),
    ];
    let mut args: Vec<String> = [failures, account]
        .into_iter()
        .flat_map(|b| BucketConfig::script_args_or_none(b.map(|b| b.config)))
        .collect();
    args.push(KNOWN_ADDRESS_SECS.to_string());
    let _ = eval(ctx, SETTLE_SIGN_IN_LUA, &keys, &args);
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
