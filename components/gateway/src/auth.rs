//! Who is calling: bearer JWT verification and role checks.

use auth_core::{AuthError, Principal, Role};
use component_support::config::var;
use platform_core::{ApiError, ErrorKind};

/// Verifies the `Authorization` header (HS256, the `jwt_secret` variable).
pub fn authenticate(authorization: Option<&str>) -> Result<Principal, ApiError> {
    let token = auth_core::bearer_token(authorization).map_err(unauthenticated)?;
    let secret = var("jwt_secret")?;
    auth_core::verify_access_token(secret.as_bytes(), token).map_err(|e| match e {
        AuthError::WeakSecret => {
            eprintln!(
                "jwt_secret is shorter than {} bytes",
                auth_core::MIN_SECRET_BYTES
            );
            ApiError::internal()
        }
        other => unauthenticated(other),
    })
}

fn unauthenticated(e: AuthError) -> ApiError {
    ApiError::new(ErrorKind::Unauthenticated, e.message())
}

/// Catalog writes are for administrators (the seed let anyone change it).
pub fn require_admin(p: &Principal) -> Result<(), ApiError> {
    match p.role {
        Role::Admin => Ok(()),
        Role::Customer => Err(ApiError::new(
            ErrorKind::Forbidden,
            "Administrator role required",
        )),
    }
}
