//! A service's failure: the WIT `error` variant of `shop:platform/types` as
//! plain Rust, so pure code and the data layer can produce it natively.
//!
//! Nothing here is HTTP: statuses, headers and bodies are the edge's job
//! (`crates/edge`), which maps this type in one place.

/// Why a caller was refused by a token bucket, as data (never in the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// The policy's name, for the IETF `RateLimit-Policy`/`RateLimit` fields.
    pub policy: String,
    /// Bucket size: requests allowed in a burst.
    pub capacity: u32,
    /// Seconds an empty bucket takes to fill again.
    pub window_secs: u32,
    /// Whole seconds until one token is back (at least 1).
    pub retry_after_secs: u32,
}

/// Mirrors `shop:platform/types.error`. Texts of `InvalidInput`, `NotFound`
/// and `Conflict` are safe to show; `Internal` text is for logs only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceError {
    InvalidInput(String),
    Unauthenticated(String),
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    /// 422: well-formed, but it contradicts an earlier request (an
    /// `Idempotency-Key` reused for another body).
    Unprocessable(String),
    RateLimited(RateLimit),
    Unavailable(String),
    /// 502: an upstream (the payment provider) answered with an error.
    BadGateway(String),
    Internal(String),
}

impl ServiceError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ServiceError::InvalidInput(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ServiceError::NotFound(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ServiceError::Conflict(message.into())
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        ServiceError::Unavailable(message.into())
    }

    /// An unexpected failure; `detail` is logged by the edge, never shown.
    pub fn internal(detail: impl Into<String>) -> Self {
        ServiceError::Internal(detail.into())
    }
}
