//! Spin variables.
//!
//! A component variable templated on an application variable (`{{ v }}`)
//! is resolved by Spin's providers on every `get` (≈ a small request's cost
//! on Spin 3.6.3): read each only where the request needs it, once.

use platform_core::ServiceError;

/// Reads a component variable. A missing one is a deployment error: logged
/// by the edge, answered as a generic 500 (Spin refuses to start without
/// required ones, so this means a manifest that lacks the mapping).
pub fn var(name: &str) -> Result<String, ServiceError> {
    spin_sdk::variables::get(name)
        .map_err(|e| ServiceError::internal(format!("variable {name} is not available: {e}")))
}
