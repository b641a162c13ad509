//! `shop:platform/types`, generated once. Every component's bindings reuse
//! these types (`with: { "shop:platform/types@0.1.0": component_support::wit::types }`),
//! so the conversions to and from plain Rust below exist once.

mod bindings {
    wit_bindgen::generate!({
        world: "shared-types",
        path: "../../wit",
    });
}

pub use bindings::shop::platform::types;

use platform_core::{RateLimit, ServiceError};
use types::Error;

impl From<ServiceError> for Error {
    fn from(e: ServiceError) -> Error {
        match e {
            ServiceError::InvalidInput(m) => Error::InvalidInput(m),
            ServiceError::Unauthenticated(m) => Error::Unauthenticated(m),
            ServiceError::Forbidden(m) => Error::Forbidden(m),
            ServiceError::NotFound(m) => Error::NotFound(m),
            ServiceError::Conflict(m) => Error::Conflict(m),
            ServiceError::Unprocessable(m) => Error::Unprocessable(m),
            ServiceError::RateLimited(r) => Error::RateLimited(types::RateLimit {
                policy: r.policy,
                capacity: r.capacity,
                window_secs: r.window_secs,
                retry_after_secs: r.retry_after_secs,
            }),
            ServiceError::Unavailable(m) => Error::Unavailable(m),
            ServiceError::BadGateway(m) => Error::BadGateway(m),
            ServiceError::Internal(m) => Error::Internal(m),
        }
    }
}

impl From<Error> for ServiceError {
    fn from(e: Error) -> ServiceError {
        match e {
            Error::InvalidInput(m) => ServiceError::InvalidInput(m),
            Error::Unauthenticated(m) => ServiceError::Unauthenticated(m),
            Error::Forbidden(m) => ServiceError::Forbidden(m),
            Error::NotFound(m) => ServiceError::NotFound(m),
            Error::Conflict(m) => ServiceError::Conflict(m),
            Error::Unprocessable(m) => ServiceError::Unprocessable(m),
            Error::RateLimited(r) => ServiceError::RateLimited(RateLimit {
                policy: r.policy,
                capacity: r.capacity,
                window_secs: r.window_secs,
                retry_after_secs: r.retry_after_secs,
            }),
            Error::Unavailable(m) => ServiceError::Unavailable(m),
            Error::BadGateway(m) => ServiceError::BadGateway(m),
            Error::Internal(m) => ServiceError::Internal(m),
        }
    }
}

/// A route's bucket for a service that takes the token itself, on the
/// connection it writes through (one Redis connection per request instead
/// of the limiter's and the service's); such routes fail open.
impl From<&platform_core::rate_limit::Bucket> for types::TokenBucket {
    fn from(bucket: &platform_core::rate_limit::Bucket) -> types::TokenBucket {
        types::TokenBucket {
            policy: bucket.policy.to_string(),
            key: bucket.key.clone(),
            capacity: bucket.config.capacity,
            refill_per_sec: bucket.config.refill_per_sec,
        }
    }
}

impl types::OrderStatus {
    /// The API's and the database's name of the status.
    pub fn as_str(self) -> &'static str {
        platform_core::order::OrderStatus::from(self).as_str()
    }
}

impl From<types::OrderStatus> for platform_core::order::OrderStatus {
    fn from(s: types::OrderStatus) -> Self {
        use platform_core::order::OrderStatus as S;
        match s {
            types::OrderStatus::Pending => S::Pending,
            types::OrderStatus::Paid => S::Paid,
            types::OrderStatus::Failed => S::Failed,
            types::OrderStatus::Expired => S::Expired,
            types::OrderStatus::Cancelled => S::Cancelled,
        }
    }
}

impl From<platform_core::order::OrderStatus> for types::OrderStatus {
    fn from(s: platform_core::order::OrderStatus) -> Self {
        use platform_core::order::OrderStatus as S;
        match s {
            S::Pending => types::OrderStatus::Pending,
            S::Paid => types::OrderStatus::Paid,
            S::Failed => types::OrderStatus::Failed,
            S::Expired => types::OrderStatus::Expired,
            S::Cancelled => types::OrderStatus::Cancelled,
        }
    }
}

impl types::PaymentStatus {
    pub fn as_str(self) -> &'static str {
        platform_core::payment::PaymentStatus::from(self).as_str()
    }
}

impl From<types::PaymentStatus> for platform_core::payment::PaymentStatus {
    fn from(s: types::PaymentStatus) -> Self {
        use platform_core::payment::PaymentStatus as S;
        match s {
            types::PaymentStatus::Pending => S::Pending,
            types::PaymentStatus::Paid => S::Paid,
            types::PaymentStatus::Failed => S::Failed,
            types::PaymentStatus::Expired => S::Expired,
            types::PaymentStatus::Cancelled => S::Cancelled,
            types::PaymentStatus::Refunded => S::Refunded,
        }
    }
}

impl From<platform_core::payment::PaymentStatus> for types::PaymentStatus {
    fn from(s: platform_core::payment::PaymentStatus) -> Self {
        use platform_core::payment::PaymentStatus as S;
        match s {
            S::Pending => types::PaymentStatus::Pending,
            S::Paid => types::PaymentStatus::Paid,
            S::Failed => types::PaymentStatus::Failed,
            S::Expired => types::PaymentStatus::Expired,
            S::Cancelled => types::PaymentStatus::Cancelled,
            S::Refunded => types::PaymentStatus::Refunded,
        }
    }
}
