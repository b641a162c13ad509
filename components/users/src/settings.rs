//! Session lifetimes (Spin variables; each read is a host call, so each is
//! read only by the operation that needs it).

use component_support::config::var;
use platform_core::ServiceError;

/// Whole seconds from a variable, or `default` when it is not a positive
/// number that fits Postgres's integer.
fn seconds(name: &str, default: i32) -> Result<i32, ServiceError> {
    Ok(var(name)?
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|s| *s >= 1)
        .unwrap_or(default))
}

/// Access token lifetime (15 min).
pub fn access_ttl() -> Result<u64, ServiceError> {
    seconds("access_token_ttl_secs", 900).map(|s| s as u64)
}

/// Refresh token lifetime (7 days); each rotation starts a new one.
pub fn refresh_ttl() -> Result<i32, ServiceError> {
    seconds("refresh_token_ttl_secs", 7 * 24 * 3600)
}

/// A family's absolute end: a session ends this long after sign-in however
/// often it is refreshed (30 days).
pub fn session_max_age() -> Result<i32, ServiceError> {
    seconds("session_max_age_secs", 30 * 24 * 3600)
}

/// How long an already rotated token still gets its successor again.
/// 0 is allowed (strict rotation).
pub fn reuse_interval() -> Result<i32, ServiceError> {
    Ok(var("refresh_reuse_interval_secs")?
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|s| (0..=300).contains(s))
        .unwrap_or(10))
}

pub fn jwt_secret() -> Result<String, ServiceError> {
    var("jwt_secret")
}
