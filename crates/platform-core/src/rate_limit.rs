//! The per-user token bucket (capacity 20, refill 10/s by default).
//!
//! The bucket itself lives in Redis and is updated by one Lua script on the
//! Redis clock, so every gateway instance shares it; this module holds the
//! script and the arithmetic around its answer.

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

/// KEYS[1] = bucket; ARGV = capacity, refill per second.
/// Returns {allowed (0/1), whole tokens left, milliseconds until one token}.
pub const TOKEN_BUCKET_LUA: &str = concat!(
    token_bucket_lua_fn!(),
    r#"
local allowed, left, wait_ms = take_token(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
return {allowed, left, wait_ms}
"#
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketConfig {
    pub capacity: i64,
    pub refill_per_sec: i64,
}

impl BucketConfig {
    /// A `capacity/refill_per_sec` setting (e.g. `120/20`); empty or `off`
    /// turns the limit off. Nonsense is refused, not guessed.
    pub fn parse_setting(setting: &str) -> Result<Option<BucketConfig>, String> {
        let setting = setting.trim();
        if setting.is_empty() || setting.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let positive = |s: &str| s.trim().parse::<i64>().ok().filter(|n| *n >= 1);
        match setting.split_once('/') {
            Some((c, r)) => match (positive(c), positive(r)) {
                (Some(capacity), Some(refill_per_sec)) => Ok(Some(BucketConfig {
                    capacity,
                    refill_per_sec,
                })),
                _ => Err(format!("invalid rate limit {setting:?}")),
            },
            None => Err(format!("invalid rate limit {setting:?} (capacity/refill)")),
        }
    }

    /// Parses the two variables; nonsense falls back to the defaults.
    pub fn parse(capacity: &str, refill_per_sec: &str) -> BucketConfig {
        let positive = |s: &str, default: i64| match s.trim().parse::<i64>() {
            Ok(n) if n >= 1 => n,
            _ => default,
        };
        BucketConfig {
            capacity: positive(capacity, 20),
            refill_per_sec: positive(refill_per_sec, 10),
        }
    }
}

/// The script's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub remaining: i64,
    pub wait_ms: i64,
}

impl Decision {
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

    /// `Retry-After` in whole seconds, never 0 for a refusal.
    pub fn retry_after_secs(&self) -> i64 {
        ((self.wait_ms + 999) / 1000).max(1)
    }

    /// The refusal as data, for the error that carries it to the edge.
    pub fn refusal(&self, config: BucketConfig) -> RateLimit {
        let clamp = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        RateLimit {
            capacity: clamp(config.capacity),
            refill_per_sec: clamp(config.refill_per_sec),
            retry_after_secs: clamp(self.retry_after_secs()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_overrides() {
        assert_eq!(
            BucketConfig::parse("", "x"),
            BucketConfig {
                capacity: 20,
                refill_per_sec: 10
            }
        );
        assert_eq!(
            BucketConfig::parse("5", "1"),
            BucketConfig {
                capacity: 5,
                refill_per_sec: 1
            }
        );
        assert_eq!(BucketConfig::parse("0", "-3").capacity, 20);
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
    fn settings_are_capacity_slash_refill_or_off() {
        assert_eq!(
            BucketConfig::parse_setting("120/20"),
            Ok(Some(BucketConfig {
                capacity: 120,
                refill_per_sec: 20
            }))
        );
        assert_eq!(BucketConfig::parse_setting(" off "), Ok(None));
        assert_eq!(BucketConfig::parse_setting(""), Ok(None));
        for bad in ["120", "0/5", "a/b", "5/-1"] {
            assert!(BucketConfig::parse_setting(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_script_defines_and_calls_the_bucket() {
        assert!(TOKEN_BUCKET_LUA.contains("local function take_token"));
        assert!(TOKEN_BUCKET_LUA.contains("take_token(KEYS[1]"));
    }

    #[test]
    fn a_refusal_carries_its_numbers() {
        let config = BucketConfig::parse("3", "1");
        let refusal = Decision::from_reply(&[0, 0, 1500]).unwrap().refusal(config);
        assert_eq!(
            refusal,
            RateLimit {
                capacity: 3,
                refill_per_sec: 1,
                retry_after_secs: 2
            }
        );
    }
}
