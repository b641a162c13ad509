//! Who is calling: bearer JWT verification and role checks.

use auth_core::{AuthError, Principal, Role};
use component_support::config;
use platform_core::ServiceError;
use spin_sdk::http::IncomingRequest;

use crate::context::{header, Context};
use crate::settings::JWT_SECRET;

/// Verifies the `Authorization` header (HS256, the `jwt_secret` variable,
/// read only here, on routes that need a caller) and notes the caller.
pub fn authenticate(req: &IncomingRequest, ctx: &mut Context) -> Result<Principal, ServiceError> {
    let authorization = header(req, "authorization");
    let token = auth_core::bearer_token(authorization.as_deref()).map_err(unauthenticated)?;
    let secret = config::get(&JWT_SECRET)?;
    let principal =
        auth_core::verify_access_token(secret.as_bytes(), token).map_err(|e| match e {
            AuthError::WeakSecret => ServiceError::internal(format!(
                "jwt_secret is shorter than {} bytes",
                auth_core::MIN_SECRET_BYTES
            )),
            other => unauthenticated(other),
        })?;
    ctx.user_id = Some(principal.user_id);
    Ok(principal)
}

fn unauthenticated(e: AuthError) -> ServiceError {
    ServiceError::Unauthenticated(e.message().to_string())
}

/// An authenticated administrator (catalog writes; the seed let anyone).
pub fn admin(req: &IncomingRequest, ctx: &mut Context) -> Result<Principal, ServiceError> {
    let principal = authenticate(req, ctx)?;
    match principal.role {
        Role::Admin => Ok(principal),
        Role::Customer => Err(ServiceError::Forbidden(
            "Administrator role required".to_string(),
        )),
    }
}
