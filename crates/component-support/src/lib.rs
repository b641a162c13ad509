//! Helpers the components share over spin-sdk 5.2.
//!
//! Host failures become [`platform_core::ServiceError`] here, so no Postgres
//! or Redis text ever reaches a client; details go to stderr as one JSON line
//! per event ([`log`]), clients get the contract's message.

pub mod cache;
pub mod config;
pub mod db;
pub mod log;
pub mod product_cache;
pub mod random;
pub mod wit;
pub mod worker;
