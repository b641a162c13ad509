//! The settings the users service reads (Spin variables; each read is a
//! host call, so each is read only by the operation that needs it).

use component_support::config;
use platform_core::setting::{Int, Secret, Text};
use platform_core::ServiceError;

pub use platform_core::setting::{DATABASE_URL, JWT_SECRET, REDIS_URL};

/// Emails given the admin role at sign-up and every sign-in (comma-separated).
pub const ADMIN_EMAILS: Text = Text {
    name: "admin_emails",
};

/// Where the OAuth providers send the browser back (`<this>/oauth/<p>/callback`).
pub const OAUTH_REDIRECT_BASE_URL: Text = Text {
    name: "oauth_redirect_base_url",
};

/// Postgres's integer bounds every lifetime (in seconds) must fit.
const MAX_SECS: i64 = i32::MAX as i64;

/// Access token lifetime (15 min).
const ACCESS_TOKEN_TTL_SECS: Int = Int {
    name: "access_token_ttl_secs",
    default: 900,
    min: 1,
    max: MAX_SECS,
};

/// Refresh token lifetime (7 days); each rotation starts a new one.
const REFRESH_TOKEN_TTL_SECS: Int = Int {
    name: "refresh_token_ttl_secs",
    default: 7 * 24 * 3600,
    min: 1,
    max: MAX_SECS,
};

/// A family's absolute end: a session ends this long after sign-in however
/// often it is refreshed (30 days).
const SESSION_MAX_AGE_SECS: Int = Int {
    name: "session_max_age_secs",
    default: 30 * 24 * 3600,
    min: 1,
    max: MAX_SECS,
};

/// How long an already rotated token still gets its successor again; 0 is
/// strict rotation.
const REFRESH_REUSE_INTERVAL_SECS: Int = Int {
    name: "refresh_reuse_interval_secs",
    default: 10,
    min: 0,
    max: 300,
};

/// One provider's settings: `<provider>_client_id` and so on.
pub struct ProviderSettings {
    pub client_id: Text,
    pub client_secret: Secret,
    pub auth_base_url: Text,
    pub api_base_url: Text,
}

macro_rules! provider_settings {
    ($name:literal) => {
        ProviderSettings {
            client_id: Text {
                name: concat!($name, "_client_id"),
            },
            client_secret: Secret {
                name: concat!($name, "_client_secret"),
            },
            auth_base_url: Text {
                name: concat!($name, "_auth_base_url"),
            },
            api_base_url: Text {
                name: concat!($name, "_api_base_url"),
            },
        }
    };
}

pub const GOOGLE: ProviderSettings = provider_settings!("google");
pub const GITHUB: ProviderSettings = provider_settings!("github");
pub const FACEBOOK: ProviderSettings = provider_settings!("facebook");

/// Within i32 by their bounds.
fn seconds(setting: &Int) -> Result<i32, ServiceError> {
    Ok(i32::try_from(config::get(setting)?).unwrap_or(i32::MAX))
}

pub fn access_ttl() -> Result<u64, ServiceError> {
    seconds(&ACCESS_TOKEN_TTL_SECS).map(|s| s as u64)
}

pub fn refresh_ttl() -> Result<i32, ServiceError> {
    seconds(&REFRESH_TOKEN_TTL_SECS)
}

pub fn session_max_age() -> Result<i32, ServiceError> {
    seconds(&SESSION_MAX_AGE_SECS)
}

pub fn reuse_interval() -> Result<i32, ServiceError> {
    seconds(&REFRESH_REUSE_INTERVAL_SECS)
}

pub fn jwt_secret() -> Result<String, ServiceError> {
    config::get(&JWT_SECRET)
}
