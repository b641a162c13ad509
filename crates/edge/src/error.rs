//! Every failure a request can end in, and the one place that turns it into
//! a status, headers and the `{"error": "..."}` body of API.md.

use crate::rate_limit_fields::{policy_field, state_field};
use crate::route::RouteError;
use component_support::wit::types;
use platform_core::{RateLimit, ServiceError};

use crate::context::Context;
use crate::reply::Reply;

/// The contract's fixed 429 text (API.md).
pub const RATE_LIMITED: &str = "Rate limit exceeded. Please try again later.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// A service's answer (or the edge's own use of the service contract).
    Service(ServiceError),
    /// No route matches the path.
    NoRoute,
    MethodNotAllowed {
        allow: String,
    },
    PayloadTooLarge {
        limit: usize,
    },
    UnsupportedMediaType,
}

impl From<ServiceError> for HttpError {
    fn from(e: ServiceError) -> HttpError {
        HttpError::Service(e)
    }
}

impl From<types::Error> for HttpError {
    fn from(e: types::Error) -> HttpError {
        HttpError::Service(e.into())
    }
}

impl From<RouteError> for HttpError {
    fn from(e: RouteError) -> HttpError {
        match e {
            RouteError::NotFound => HttpError::NoRoute,
            RouteError::MethodNotAllowed { allow } => HttpError::MethodNotAllowed { allow },
            RouteError::BadParameter(e) => HttpError::Service(e),
        }
    }
}

impl HttpError {
    pub fn status(&self) -> u16 {
        match self {
            HttpError::Service(e) => match e {
                ServiceError::InvalidInput(_) => 400,
                ServiceError::Unauthenticated(_) => 401,
                ServiceError::Forbidden(_) => 403,
                ServiceError::NotFound(_) => 404,
                ServiceError::Conflict(_) => 409,
                ServiceError::Unprocessable(_) => 422,
                ServiceError::RateLimited(_) => 429,
                ServiceError::Unavailable(_) => 503,
                ServiceError::BadGateway(_) => 502,
                ServiceError::Internal(_) => 500,
            },
            HttpError::NoRoute => 404,
            HttpError::MethodNotAllowed { .. } => 405,
            HttpError::PayloadTooLarge { .. } => 413,
            HttpError::UnsupportedMediaType => 415,
        }
    }

    /// The text a client may see. Internal details never are.
    fn message(&self) -> String {
        match self {
            HttpError::Service(e) => match e {
                ServiceError::InvalidInput(m)
                | ServiceError::Unauthenticated(m)
                | ServiceError::Forbidden(m)
                | ServiceError::NotFound(m)
                | ServiceError::Conflict(m)
                | ServiceError::Unprocessable(m)
                | ServiceError::Unavailable(m)
                | ServiceError::BadGateway(m) => m.clone(),
                ServiceError::RateLimited(_) => RATE_LIMITED.to_string(),
                ServiceError::Internal(_) => "Internal server error".to_string(),
            },
            HttpError::NoRoute => "Not found".to_string(),
            HttpError::MethodNotAllowed { .. } => "Method not allowed".to_string(),
            HttpError::PayloadTooLarge { limit } => {
                format!("Request body exceeds {limit} bytes")
            }
            HttpError::UnsupportedMediaType => "Content-Type must be application/json".to_string(),
        }
    }

    /// The reply, with the headers the error implies. An internal error's
    /// detail is logged here, once, with the request id.
    pub fn into_reply(self, ctx: &Context) -> Reply {
        if let HttpError::Service(ServiceError::Internal(detail)) = &self {
            component_support::log::line(&InternalError {
                level: "error",
                msg: "internal error",
                request_id: &ctx.request_id,
                detail,
            });
        }
        let reply = Reply::error(self.status(), &self.message());
        match self {
            HttpError::MethodNotAllowed { allow } => reply.with_header("allow", allow),
            HttpError::Service(ServiceError::RateLimited(limit)) => rate_limited(reply, limit),
            // Every cause of a 503 (a dependency down, a limiter that cannot
            // count) is expected to pass within seconds.
            HttpError::Service(ServiceError::Unavailable(_)) => {
                reply.with_header("retry-after", UNAVAILABLE_RETRY_SECS)
            }
            _ => reply,
        }
    }
}

/// `Retry-After` of a 503.
const UNAVAILABLE_RETRY_SECS: &str = "5";

/// `Retry-After`, and the refusing policy in the IETF fields: nothing left,
/// a token back in `Retry-After` seconds.
fn rate_limited(reply: Reply, limit: RateLimit) -> Reply {
    let policy = policy_field([(limit.policy.as_str(), limit.capacity, limit.window_secs)]);
    let state = state_field([(limit.policy.as_str(), 0, limit.retry_after_secs)]);
    reply
        .with_header("retry-after", limit.retry_after_secs.to_string())
        .with_header("ratelimit-policy", policy)
        .with_header("ratelimit", state)
}

#[derive(serde::Serialize)]
struct InternalError<'a> {
    level: &'a str,
    msg: &'a str,
    request_id: &'a str,
    detail: &'a str,
}
