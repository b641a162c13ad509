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
