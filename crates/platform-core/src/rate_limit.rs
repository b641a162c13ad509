//! Token buckets (a burst of `capacity`, then `refill_per_sec` tokens a
//! second, which may be a fraction: `5/0.02` is five attempts, then one every
//! 50 s).
//!
//! The buckets live in Redis and are updated by one Lua script on the Redis
//! clock, so every instance shares them; this module holds the script and
//! the arithmetic around its answer (the IETF fields that carry it are
//! HTTP's: `edge::rate_limit_fields`).

use crate::RateLimit;

/// The token bucket as a Lua function, for scripts that take a token and
/// then do more in the same round trip: `take_token(key, capacity, rate)`
/// returns allowed (0/1), whole tokens left, milliseconds until one token.
#[macro_export]
macro_rules! token_bucket_lua_fn {
    () => {
        r#"
local function take_token(key, capacity, rate)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local b = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(b[1]) or capacity
  local ts = tonumber(b[2]) or now
  if now > ts then
    tokens = math.min(capacity, tokens + (now - ts) * rate / 1000000)
  end
  local allowed = 0
  local wait_ms = 0
  if tokens >= 1 then
    tokens = tokens - 1
    allowed = 1
  else
    wait_ms = math.ceil((1 - tokens) * 1000 / rate)
  end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
  redis.call('PEXPIRE', key, math.ceil(capacity * 1000 / rate) + 1000)
  return allowed, math.floor(tokens), wait_ms
end
"#
    };
}

/// KEYS = buckets, in order; ARGV = capacity and refill per second of each.
/// Takes a token from each bucket until one refuses (a refused request does
/// not drain the later buckets). Returns {allowed, tokens left, ms until one
/// token} per bucket consulted.
pub const TAKE_TOKENS_LUA: &str = concat!(
    token_bucket_lua_fn!(),
    r#"
local out = {}
for i, key in ipairs(KEYS) do
  local allowed, left, wait_ms = take_token(key, tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i]))
  out[#out + 1] = allowed
  out[#out + 1] = left
  out[#out + 1] = wait_ms
  if allowed == 0 then break end
end
return out
"#
);

/// A sign-in's buckets, where only failures cost (docs/decisions/0005 §4d).
/// KEYS: [1] the client address's bucket (every attempt: the CPU guard),
/// [2] the email × address failure bucket, [3] the account's failure
/// bucket, [4] the marker of an address that signed in to the account
/// before. ARGV: capacity and refill of 1–3; a capacity of 0 means no such
/// bucket (its setting is `off`, or the client has no address).
///
/// Tokens are taken up front, so a burst of guesses cannot outrun the
/// buckets; `SETTLE_SIGN_IN_LUA` gives a success's tokens back. An empty
/// account bucket still admits an address that signed in before (the soft
/// ceiling: strangers cannot lock the owner out). Returns a triple per
/// bucket consulted (as `TAKE_TOKENS_LUA`), then whether the account's
/// token was taken (1) or the known address let it through (0).
pub const TAKE_SIGN_IN_LUA: &str = concat!(
    token_bucket_lua_fn!(),
    r#"
local out = {}
local counted = 0
for i = 1, 3 do
  local capacity = tonumber(ARGV[2 * i - 1])
  if capacity > 0 then
    local allowed, left, wait_ms = take_token(KEYS[i], capacity, tonumber(ARGV[2 * i]))
    if i == 3 then
      if allowed == 1 then
        counted = 1
      elseif redis.call('EXISTS', KEYS[4]) == 1 then
        allowed = 1
      end
    end
    out[#out + 1] = allowed
    out[#out + 1] = left
    out[#out + 1] = wait_ms
    if allowed == 0 then
      out[#out + 1] = counted
      return out
    end
  end
end
out[#out + 1] = counted
return out
"#
);

/// A successful sign-in: its failure-bucket token back (KEYS[1], ARGV 1–2,
/// capacity 0: none), the account's too when it was counted (KEYS[2],
/// ARGV 3–4), and the address remembered as known for ARGV[5] seconds
/// (KEYS[3]).
pub const SETTLE_SIGN_IN_LUA: &str = r#"
local function give_back(key, capacity)
  if capacity <= 0 then return end
  local tokens = tonumber(redis.call('HGET', key, 'tokens'))
  if tokens then
    redis.call('HSET', key, 'tokens', tostring(math.min(capacity, tokens + 1)))
  end
end
give_back(KEYS[1], tonumber(ARGV[1]))
give_back(KEYS[2], tonumber(ARGV[3]))
redis.call('SET', KEYS[3], '1', 'EX', tonumber(ARGV[5]))
return 1
"#;

/// How long an address that signed in stays known to its account (30 days).
pub const KNOWN_ADDRESS_SECS: u32 = 30 * 24 * 3600;

/// The sign-in script's answer: a decision per bucket consulted, and
/// whether the account bucket's token was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInReply {
    pub decisions: Vec<Decision>,
    pub account_counted: bool,
}

impl SignInReply {
    pub fn from_reply(values: &[i64]) -> Option<SignInReply> {
        let (counted, triples) = values.split_last()?;
        Some(SignInReply {
            decisions: Decision::all_from_reply(triples)?,
            account_counted: *counted == 1,
        })
    }
}

/// Bounds of a refill rate: one token in 1000 s at the slowest; the upper
/// bound only keeps the number an ordinary float (benchmarks set "never
/// refuse" with huge values).
const MAX_REFILL_PER_SEC: f64 = 1e12;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketConfig {
    pub capacity: u32,
    pub refill_per_sec: f64,
}

impl BucketConfig {
    /// A `capacity/refill_per_sec` setting (`120/20`, `5/0.02`); empty or
    /// `off` turns the limit off. Nonsense is refused, not guessed.
    pub fn parse_setting(setting: &str) -> Result<Option<BucketConfig>, String> {
        let setting = setting.trim();
        if setting.is_empty() || setting.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let invalid = || format!("invalid rate limit {setting:?} (capacity/refill per second)");
        let (c, r) = setting.split_once('/').ok_or_else(invalid)?;
        let capacity = c
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(invalid)?;
        let refill_per_sec = r
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|r| r.is_finite() && *r >= 0.001 && *r <= MAX_REFILL_PER_SEC)
            .ok_or_else(invalid)?;
        Ok(Some(BucketConfig {
            capacity,
            refill_per_sec,
        }))
    }

    /// Seconds an empty bucket takes to fill: the policy's window (`w`).
    pub fn window_secs(&self) -> u32 {
        secs(f64::from(self.capacity) / self.refill_per_sec)
    }

    /// The sign-in scripts' ARGV pair of a bucket that may be absent.
    pub fn script_args_or_none(config: Option<BucketConfig>) -> [String; 2] {
        config.map_or_else(|| ["0".to_string(), "0".to_string()], |c| c.script_args())
    }

    /// The script's ARGV pair for this bucket.
    pub fn script_args(&self) -> [String; 2] {
        [self.capacity.to_string(), self.refill_per_sec.to_string()]
    }
}

fn secs(value: f64) -> u32 {
    let rounded = value.ceil();
    if rounded >= f64::from(u32::MAX) {
        u32::MAX
    } else if rounded <= 0.0 {
        0
    } else {
        rounded as u32
    }
}

/// One bucket a request takes a token from: the policy's name (the IETF
/// fields name it), its Redis key and its numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub policy: &'static str,
    pub key: String,
    pub config: BucketConfig,
}

/// The script's answer for one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub remaining: i64,
    pub wait_ms: i64,
}

impl Decision {
    /// One `{allowed, left, wait_ms}` triple.
    pub fn from_reply(values: &[i64]) -> Option<Decision> {
        match values {
            [allowed, remaining, wait_ms] => Some(Decision {
                allowed: *allowed == 1,
                remaining: (*remaining).max(0),
                wait_ms: (*wait_ms).max(0),
            }),
            _ => None,
        }
    }

    /// Every triple of a multi-bucket reply (at least one).
    pub fn all_from_reply(values: &[i64]) -> Option<Vec<Decision>> {
        if values.is_empty() || !values.len().is_multiple_of(3) {
            return None;
        }
        values.chunks(3).map(Decision::from_reply).collect()
    }

    /// `Retry-After` in whole seconds, never 0 for a refusal.
    pub fn retry_after_secs(&self) -> i64 {
        ((self.wait_ms + 999) / 1000).max(1)
    }

    /// Seconds until an admitted request's bucket is full again (`t`).
    pub fn reset_secs(&self, config: BucketConfig) -> u32 {
        let missing = f64::from(config.capacity) - self.remaining as f64;
        secs(missing.max(0.0) / config.refill_per_sec)
    }

    /// The refusal as data, for the error that carries it to the edge.
    pub fn refusal(&self, policy: &str, config: BucketConfig) -> RateLimit {
        RateLimit {
            policy: policy.to_string(),
            capacity: config.capacity,
            window_secs: config.window_secs(),
            retry_after_secs: u32::try_from(self.retry_after_secs()).unwrap_or(u32::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(capacity: u32, refill_per_sec: f64) -> BucketConfig {
        BucketConfig {
            capacity,
            refill_per_sec,
        }
    }

    #[test]
    fn settings_are_capacity_slash_refill_or_off() {
        assert_eq!(
            BucketConfig::parse_setting("120/20"),
            Ok(Some(config(120, 20.0)))
        );
        assert_eq!(
            BucketConfig::parse_setting(" 5 / 0.02 "),
            Ok(Some(config(5, 0.02)))
        );
        assert_eq!(BucketConfig::parse_setting(" off "), Ok(None));
        assert_eq!(BucketConfig::parse_setting(""), Ok(None));
        for bad in ["120", "0/5", "a/b", "5/-1", "5/0", "5/NaN", "5/inf", "-1/2"] {
            assert!(BucketConfig::parse_setting(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_are_whole_seconds_to_fill() {
        assert_eq!(config(20, 10.0).window_secs(), 2);
        assert_eq!(config(5, 0.02).window_secs(), 250);
        assert_eq!(config(3, 2.0).window_secs(), 2);
        assert_eq!(config(5, 0.02).script_args(), ["5", "0.02"]);
    }

    #[test]
    fn retry_after_rounds_up() {
        let d = Decision::from_reply(&[0, 0, 100]).unwrap();
        assert!(!d.allowed);
        assert_eq!(d.retry_after_secs(), 1);
        assert_eq!(
            Decision::from_reply(&[0, 0, 1001])
                .unwrap()
                .retry_after_secs(),
            2
        );
        assert_eq!(Decision::from_reply(&[1, 19, 0]).unwrap().remaining, 19);
        assert_eq!(Decision::from_reply(&[1, 2]), None);
    }

    #[test]
    fn multi_bucket_replies_are_triples() {
        let all = Decision::all_from_reply(&[1, 4, 0, 0, 0, 50_000]).unwrap();
        assert_eq!(all.len(), 2);
        assert!(all[0].allowed && !all[1].allowed);
        assert_eq!(all[1].retry_after_secs(), 50);
        assert_eq!(Decision::all_from_reply(&[]), None);
        assert_eq!(Decision::all_from_reply(&[1, 2, 3, 4]), None);
    }

    #[test]
    fn reset_is_the_time_to_refill_what_is_missing() {
        let d = Decision::from_reply(&[1, 17, 0]).unwrap();
        assert_eq!(d.reset_secs(config(20, 10.0)), 1);
        assert_eq!(d.reset_secs(config(20, 1.0)), 3);
        let full = Decision::from_reply(&[1, 20, 0]).unwrap();
        assert_eq!(full.reset_secs(config(20, 1.0)), 0);
    }

    #[test]
    fn the_script_defines_and_calls_the_bucket() {
        assert!(TAKE_TOKENS_LUA.contains("local function take_token"));
        assert!(TAKE_TOKENS_LUA.contains("take_token(key"));
    }

    #[test]
    fn sign_in_replies_end_with_whether_the_account_counted() {
        let r = SignInReply::from_reply(&[1, 19, 0, 1, 4, 0, 1, 99, 0, 1]).unwrap();
        assert_eq!(r.decisions.len(), 3);
        assert!(r.account_counted);
        let refused = SignInReply::from_reply(&[1, 19, 0, 0, 0, 50_000, 0]).unwrap();
        assert!(!refused.decisions[1].allowed && !refused.account_counted);
        assert_eq!(SignInReply::from_reply(&[1]), None);
        assert_eq!(SignInReply::from_reply(&[1, 2, 3]), None);
        assert_eq!(
            BucketConfig::script_args_or_none(None),
            ["0".to_string(), "0".to_string()]
        );
        assert!(TAKE_SIGN_IN_LUA.contains("local function take_token"));
    }

    #[test]
    fn a_refusal_carries_its_numbers() {
        let refusal = Decision::from_reply(&[0, 0, 1500])
            .unwrap()
            .refusal("login-email", config(3, 1.0));
        assert_eq!(
            refusal,
            RateLimit {
                policy: "login-email".into(),
                capacity: 3,
                window_secs: 3,
                retry_after_secs: 2
            }
        );
    }
}
