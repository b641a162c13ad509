//! Spin variables.

use platform_core::ApiError;

/// Reads a component variable. A missing one is a deployment error: logged,
/// and answered as a generic 500 (Spin refuses to start without required ones).
pub fn var(name: &str) -> Result<String, ApiError> {
    spin_sdk::variables::get(name).map_err(|e| {
        eprintln!("variable {name} is not available: {e}");
        ApiError::internal()
    })
}
