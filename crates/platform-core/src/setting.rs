//! Settings (Spin variables) as typed declarations: each component states
//! once what it reads — name, type, default, bounds, secrecy — and reads it
//! lazily where a request needs it (a read is a host call on Spin). One
//! convention for every value: an empty setting is the default, anything
//! else must parse within its bounds or is refused — never guessed, never
//! silently 0. A refusal names the variable and what it expects, never the
//! value (it may be a secret).

use crate::rate_limit::BucketConfig;

/// A setting's text turned into its value.
pub trait Setting {
    type Value;

    fn name(&self) -> &'static str;

    /// A secret is never logged or shown (nor is any value: a refusal names
    /// only what was expected).
    fn secret(&self) -> bool {
        false
    }

    /// `raw` as the variable holds it; `Err` says what was expected.
    fn parse(&self, raw: &str) -> Result<Self::Value, String>;
}

/// Text used as it is (URLs, lists, keys): an empty value is empty.
pub struct Text {
    pub name: &'static str,
}

impl Setting for Text {
    type Value = String;

    fn name(&self) -> &'static str {
        self.name
    }

    fn parse(&self, raw: &str) -> Result<String, String> {
        Ok(raw.to_string())
    }
}

/// A secret (keys, connection strings with passwords): used as it is (an
/// empty one is for its reader to refuse: payments are off without a key).
pub struct Secret {
    pub name: &'static str,
}

impl Setting for Secret {
    type Value = String;

    fn name(&self) -> &'static str {
        self.name
    }

    fn secret(&self) -> bool {
        true
    }

    fn parse(&self, raw: &str) -> Result<String, String> {
        Ok(raw.to_string())
    }
}

/// A whole number within `min..=max`; empty is `default`.
pub struct Int {
    pub name: &'static str,
    pub default: i64,
    pub min: i64,
    pub max: i64,
}

impl Setting for Int {
    type Value = i64;

    fn name(&self) -> &'static str {
        self.name
    }

    fn parse(&self, raw: &str) -> Result<i64, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(self.default);
        }
        raw.parse::<i64>()
            .ok()
            .filter(|n| (self.min..=self.max).contains(n))
            .ok_or_else(|| format!("a whole number from {} to {}", self.min, self.max))
    }
}

/// A token bucket as `capacity/refill_per_sec` (`120/20`, `5/0.02`); empty
/// or `off` is no bucket.
pub struct Bucket {
    pub name: &'static str,
}

impl Setting for Bucket {
    type Value = Option<BucketConfig>;

    fn name(&self) -> &'static str {
        self.name
    }

    /// The expectation, never the value (which the log must not show).
    fn parse(&self, raw: &str) -> Result<Option<BucketConfig>, String> {
        BucketConfig::parse_setting(raw)
            .map_err(|_| "capacity/refill per second (e.g. 20/0.2), or off".to_string())
    }
}

/// The connection settings every service reads.
pub const DATABASE_URL: Secret = Secret {
    name: "database_url",
};
pub const REDIS_URL: Secret = Secret { name: "redis_url" };

/// HS256 key of access tokens (at least 32 bytes, checked where used): the
/// users service signs with it, the edge verifies.
pub const JWT_SECRET: Secret = Secret { name: "jwt_secret" };

#[cfg(test)]
mod tests {
    use super::*;

    const HOPS: Int = Int {
        name: "trusted_proxy_hops",
        default: 0,
        min: 0,
        max: 16,
    };

    #[test]
    fn an_empty_number_is_its_default_and_nonsense_is_refused() {
        assert_eq!(HOPS.parse(""), Ok(0));
        assert_eq!(HOPS.parse(" 2 "), Ok(2));
        for bad in ["-1", "17", "two", "1.5", "9999999999999999999999"] {
            assert_eq!(
                HOPS.parse(bad),
                Err("a whole number from 0 to 16".to_string()),
                "{bad}"
            );
        }
    }

    #[test]
    fn text_and_secrets_are_kept_as_they_are() {
        let url = Text {
            name: "storefront_url",
        };
        assert_eq!(url.parse(" http://x "), Ok(" http://x ".to_string()));
        assert_eq!(url.parse(""), Ok(String::new()));
        let key = Secret { name: "jwt_secret" };
        assert_eq!(key.parse(" k "), Ok(" k ".to_string()));
        assert!(key.secret() && !url.secret());
    }

    #[test]
    fn a_bucket_is_capacity_slash_refill_or_off() {
        let list = Bucket {
            name: "list_rate_limit",
        };
        assert_eq!(
            list.parse("120/20"),
            Ok(Some(BucketConfig {
                capacity: 120,
                refill_per_sec: 20.0
            }))
        );
        assert_eq!(list.parse("off"), Ok(None));
        assert!(list.parse("120").is_err());
    }
}
