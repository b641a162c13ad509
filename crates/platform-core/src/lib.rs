//! Pure logic shared by the platform's components, tested natively.
//!
//! Nothing here touches Spin, Postgres or Redis, so it builds for both
//! `wasm32-wasip2` (inside components) and the host (unit tests).

pub mod account;
pub mod account_link;
pub mod admin;
pub mod error;
pub mod event;
pub mod json;
pub mod lifecycle;
pub mod mail;
pub mod midtrans;
pub mod order;
pub mod page;
pub mod path;
pub mod payment;
pub mod product;
pub mod rate_limit;
pub mod resend;
pub mod setting;
pub mod sqlstate;
pub mod text;
pub mod time;

pub use error::{RateLimit, ServiceError};
