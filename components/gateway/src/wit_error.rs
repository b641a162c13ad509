//! Service errors (WIT) to the HTTP error contract.

use platform_core::{ApiError, ErrorKind};

use crate::shop::platform::types::Error;

pub fn from_wit(e: Error) -> ApiError {
    match e {
        Error::InvalidInput(m) => ApiError::new(ErrorKind::InvalidInput, m),
        Error::Unauthenticated(m) => ApiError::new(ErrorKind::Unauthenticated, m),
        Error::Forbidden(m) => ApiError::new(ErrorKind::Forbidden, m),
        Error::NotFound(m) => ApiError::new(ErrorKind::NotFound, m),
        Error::Conflict(m) => ApiError::new(ErrorKind::Conflict, m),
        Error::RateLimited(m) => ApiError::new(ErrorKind::RateLimited, m),
        Error::Unavailable(m) => ApiError::new(ErrorKind::Unavailable, m),
        Error::Internal(detail) => {
            // Logged for operators; the client gets the generic message.
            eprintln!("service error: {detail}");
            ApiError::internal()
        }
    }
}
