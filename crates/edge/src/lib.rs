//! The HTTP edge, shared by every HTTP component (one per route group, see
//! `docs/architecture.md`): a request is parsed once into a typed
//! [`platform_core::route::Route`], handed to the component's [`Handler`],
//! and every outcome becomes the JSON contract of API.md with one log line —
//! no handler error text ever reaches a client.

pub mod auth;
pub mod body;
pub mod client;
pub mod context;
pub mod error;
pub mod rate_limit;
pub mod reply;
mod serve;

pub use context::{header, Context};
pub use error::HttpError;
pub use reply::Reply;
pub use serve::{serve, serve_unrouted, Handler};
