//! The integration tests as one binary (one link of wasmtime, the relay and
//! rdkafka instead of one per file): each module is what was a test file.
//! `cargo test -p integration --test api <module>::` runs one of them.

mod account_links_http;
mod accounts_http;
mod admin_http;
mod catalog_component;
mod catalog_http;
mod contract_fuzz;
mod deploy_manifests;
mod gateway_http;
mod host_fidelity;
mod lifecycle_bench;
mod lifecycle_http;
mod mail_http;
mod oauth_http;
mod openapi_examples;
mod order_sql;
mod orders_http;
mod real_spin;
mod redis_trigger;
mod route_budgets;
mod saga_http;
mod saga_sql;
mod sign_in_limits_http;
mod status_rules_sql;
mod storefront_browser;
mod storefront_http;
