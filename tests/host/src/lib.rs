//! A wasmtime host that runs this project's `spin.toml` the way Spin 3.6.3
//! does, for the tests and for `cargo xtask up` where Spin is not installed.
//!
//! What it implements, and how faithfully, is listed in the README
//! ("The project host"). Behaviour that matters for the app follows
//! `shared/spin-facts.md`: a fresh instance per request, a trap is an empty
//! 500, Postgres type mapping and strict parameter types, one Redis TCP
//! connection per open, `allowed_outbound_hosts` enforced.

mod bindings {
    include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
}

mod redis_bindings {
    include!(concat!(env!("OUT_DIR"), "/redis_bindings.rs"));
}

pub mod app;
pub mod compose;
pub mod http_trigger;
pub mod key_value_host;
pub mod manifest;
pub mod outbound;
pub mod pg;
pub mod redis_host;
pub mod redis_trigger;
pub mod runtime;
pub mod runtime_config;
pub mod stats;
pub mod stdio;
pub mod variables;
mod variables_host;

pub use app::{App, AppOptions};
pub use runtime::{ComponentConfig, HostState, Services};
pub use runtime_config::RuntimeConfig;
pub use stats::StatsSnapshot;
