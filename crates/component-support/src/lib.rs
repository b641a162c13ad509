//! Helpers the components share over spin-sdk 5.2.
//!
//! Host failures become [`platform_core::ServiceError`] here, so no Postgres
//! or Redis text ever reaches a client; details go to stderr as one JSON line
//! per event ([`log`]), clients get the contract's message.

pub mod cache;
pub mod catalog_cache;
pub mod config;
pub mod db;
pub mod limiter;
pub mod log;
pub mod random;
pub mod wit;
pub mod worker;

/// A component's WIT bindings for `world` (in `wit/`), reusing the shared
/// `types` generated once in [`wit`] (so `From` between the Rust and WIT
/// errors is written once). The caller depends on `wit-bindgen`.
#[macro_export]
macro_rules! bindings {
    ($world:literal) => {
        wit_bindgen::generate!({
            world: $world,
            path: "../../wit",
            with: { "shop:platform/types@0.1.0": component_support::wit::types },
        });
    };
    // A world of the operator's package (`wit/operator`: the services with
    // their `admin` interfaces, and admin-api).
    (operator $world:literal) => {
        wit_bindgen::generate!({
            world: $world,
            path: "../../wit/operator",
            with: { "shop:platform/types@0.1.0": component_support::wit::types },
            // The other `shop:platform` interfaces these worlds name.
            generate_all,
        });
    };
}
