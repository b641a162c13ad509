//! Spin variables.
//!
//! A component variable templated on an application variable (`{{ v }}`)
//! is resolved by Spin's providers on every `get` (≈ a small request's cost
//! on Spin 3.6.3): read each only where the request needs it, once.

use platform_core::setting::Setting;
use platform_core::ServiceError;

/// Reads a declared setting (`platform_core::setting`): one host call, the
/// text parsed by the setting's one rule. A refused value is a deployment
/// error, answered as a generic 500; the log names the variable and what it
/// expects, never the value.
pub fn get<S: Setting>(setting: &S) -> Result<S::Value, ServiceError> {
    let name = setting.name();
    setting
        .parse(&var(name)?)
        .map_err(|expected| ServiceError::internal(format!("variable {name}: expected {expected}")))
}

/// Reads a component variable. A missing one is a deployment error: logged
/// by the edge, answered as a generic 500 (Spin refuses to start without
/// required ones, so this means a manifest that lacks the mapping).
fn var(name: &str) -> Result<String, ServiceError> {
    spin_sdk::variables::get(name)
        .map_err(|e| ServiceError::internal(format!("variable {name} is not available: {e}")))
}
