//! The settings the edge reads (Spin variables, `platform_core::setting`),
//! each only on the requests that need it: the JWT key on routes with a
//! caller, the CORS origins with an `Origin`, the proxy hops with an
//! `X-Forwarded-For`, the per-user bucket on limited writes.

use platform_core::setting::{self, Int, Text};

pub use platform_core::setting::JWT_SECRET;

/// Browser origins allowed to call the API: a comma-separated list or `*`.
pub const CORS_ORIGINS: Text = Text {
    name: "cors_origins",
};

/// Proxies of ours that append to `X-Forwarded-For` (0: the TCP peer is
/// the client).
pub const TRUSTED_PROXY_HOPS: Int = Int {
    name: "trusted_proxy_hops",
    default: 0,
    min: 0,
    max: 16,
};

/// The per-user bucket of write routes (`capacity/refill`, or `off`): one
/// value, so a limited write reads one variable for it, not two.
pub const RATE_LIMIT: setting::Bucket = setting::Bucket { name: "rate_limit" };
