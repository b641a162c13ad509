//! The HTTP edge, shared by every HTTP component (one per route group, see
//! `docs/architecture.md`): a request is parsed once into a typed
//! [`route::Route`], handed to the component's [`Handler`],
//! and every outcome becomes the JSON contract of API.md with one log line —
//! no handler error text ever reaches a client.

pub mod auth;
pub mod bodies;
pub mod body;
pub mod client;
pub mod context;
pub mod cors;
pub mod error;
pub mod rate_limit;
pub mod rate_limit_fields;
pub mod reply;
pub mod route;
mod serve;
pub mod settings;

pub use context::{header, Context};
pub use error::HttpError;
pub use reply::Reply;
pub use serve::{serve, serve_unrouted, Handler, HttpResult};
