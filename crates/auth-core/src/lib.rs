//! Access tokens: HS256 JWTs with the user id as subject and the role as a claim.

pub mod link;
pub mod oauth;
pub mod password;
pub mod refresh;

use std::collections::HashSet;

use jwt_simple::prelude::*;

/// `iss` of every access token; tokens from elsewhere are refused.
pub const ISSUER: &str = "shop-platform";
/// `aud` of every access token: the platform's API (a token minted for
/// another audience by the same issuer is refused).
pub const AUDIENCE: &str = "shop-platform-api";
/// Shorter secrets are refused: HS256 needs at least 256 bits of key.
pub const MIN_SECRET_BYTES: usize = 32;
/// Clock drift tolerated when checking `exp`/`nbf` (jwt-simple's default is 15 min).
const CLOCK_TOLERANCE_SECS: u64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Admin,
}

/// Who a verified token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header.
    Missing,
    /// Malformed, forged, expired or otherwise unacceptable token.
    Invalid,
    /// The configured secret is too short to be safe.
    WeakSecret,
}

impl AuthError {
    pub fn message(&self) -> &'static str {
        match self {
            AuthError::Missing => "Missing bearer token",
            AuthError::Invalid => "Invalid or expired token",
            AuthError::WeakSecret => "Server misconfigured",
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct AccessClaims {
    role: Role,
    /// Token use; refresh tokens are opaque and never JWTs, but a future
    /// JWT of another kind must not pass as an access token.
    typ: String,
}

const ACCESS_TYP: &str = "access";

/// Words that mark a value as a placeholder from documentation or examples.
const PLACEHOLDER_MARKS: &[&str] = &[
    "change-me",
    "change_me",
    "changeme",
    "replace-me",
    "example",
];

/// Refuses secrets too short for HS256, placeholders copied from an example
/// (anyone could sign tokens with a published key), and one repeated byte.
pub fn check_secret(secret: &[u8]) -> Result<(), AuthError> {
    let lower = String::from_utf8_lossy(secret).to_ascii_lowercase();
    let placeholder = PLACEHOLDER_MARKS.iter().any(|m| lower.contains(m));
    let one_byte = secret.windows(2).all(|w| w[0] == w[1]);
    if secret.len() < MIN_SECRET_BYTES || placeholder || one_byte {
        return Err(AuthError::WeakSecret);
    }
    Ok(())
}

fn key(secret: &[u8]) -> Result<HS256Key, AuthError> {
    check_secret(secret)?;
    Ok(HS256Key::from_bytes(secret))
}

/// Issues an access token valid for `ttl_secs`.
pub fn issue_access_token(
    secret: &[u8],
    user_id: i64,
    role: Role,
    ttl_secs: u64,
) -> Result<String, AuthError> {
    let claims = Claims::with_custom_claims(
        AccessClaims {
            role,
            typ: ACCESS_TYP.to_string(),
        },
        Duration::from_secs(ttl_secs),
    )
    .with_issuer(ISSUER)
    .with_audience(AUDIENCE)
    .with_subject(user_id);
    key(secret)?
        .authenticate(claims)
        .map_err(|_| AuthError::Invalid)
}

/// Verifies signature, issuer, expiry and shape; returns who the token is for.
pub fn verify_access_token(secret: &[u8], token: &str) -> Result<Principal, AuthError> {
    let options = VerificationOptions {
        allowed_issuers: Some(HashSet::from([ISSUER.to_string()])),
        allowed_audiences: Some(HashSet::from([AUDIENCE.to_string()])),
        time_tolerance: Some(Duration::from_secs(CLOCK_TOLERANCE_SECS)),
        ..Default::default()
    };
    let claims = key(secret)?
        .verify_token::<AccessClaims>(token, Some(options))
        .map_err(|_| AuthError::Invalid)?;
    if claims.custom.typ != ACCESS_TYP || claims.expires_at.is_none() {
        return Err(AuthError::Invalid);
    }
    let user_id = claims
        .subject
        .as_deref()
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or(AuthError::Invalid)?;
    Ok(Principal {
        user_id,
        role: claims.custom.role,
    })
}

/// Extracts the token from an `Authorization` header value.
pub fn bearer_token(header: Option<&str>) -> Result<&str, AuthError> {
    let value = header.ok_or(AuthError::Missing)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::Invalid)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Invalid);
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trip_keeps_user_and_role() {
        let t = issue_access_token(SECRET, 42, Role::Admin, 900).unwrap();
        assert_eq!(
            verify_access_token(SECRET, &t).unwrap(),
            Principal {
                user_id: 42,
                role: Role::Admin
            }
        );
    }

    #[test]
    fn another_secret_is_refused() {
        let t = issue_access_token(SECRET, 1, Role::Customer, 900).unwrap();
        let other = b"fedcba9876543210fedcba9876543210";
        assert_eq!(verify_access_token(other, &t), Err(AuthError::Invalid));
    }

    #[test]
    fn tampered_payload_is_refused() {
        let t = issue_access_token(SECRET, 1, Role::Customer, 900).unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        let forged_claims = issue_access_token(SECRET, 1, Role::Admin, 900).unwrap();
        let forged_payload = forged_claims.split('.').nth(1).unwrap();
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(
            verify_access_token(SECRET, &forged),
            Err(AuthError::Invalid)
        );
    }

    #[test]
    fn alg_none_and_garbage_are_refused() {
        // {"alg":"none","typ":"JWT"} . {"sub":"1","role":"admin","typ":"access","iss":"shop-platform"} .
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwicm9sZSI6ImFkbWluIiwidHlwIjoiYWNjZXNzIiwiaXNzIjoic2hvcC1wbGF0Zm9ybSJ9.";
        assert_eq!(verify_access_token(SECRET, none), Err(AuthError::Invalid));
        for bad in ["", "a.b.c", "not a token", "...."] {
            assert_eq!(verify_access_token(SECRET, bad), Err(AuthError::Invalid));
        }
    }

    #[test]
    fn wrong_issuer_is_refused() {
        let claims = Claims::with_custom_claims(
            AccessClaims {
                role: Role::Admin,
                typ: ACCESS_TYP.into(),
            },
            Duration::from_secs(900),
        )
        .with_issuer("someone-else")
        .with_subject(1);
        let t = HS256Key::from_bytes(SECRET).authenticate(claims).unwrap();
        assert_eq!(verify_access_token(SECRET, &t), Err(AuthError::Invalid));
    }

    #[test]
    fn expired_token_is_refused() {
        let mut claims = Claims::with_custom_claims(
            AccessClaims {
                role: Role::Customer,
                typ: ACCESS_TYP.into(),
            },
            Duration::from_secs(1),
        )
        .with_issuer(ISSUER)
        .with_subject(1);
        let past = Clock::now_since_epoch() - Duration::from_secs(3600);
        claims.issued_at = Some(past);
        claims.invalid_before = Some(past);
        claims.expires_at = Some(past + Duration::from_secs(60));
        let t = HS256Key::from_bytes(SECRET).authenticate(claims).unwrap();
        assert_eq!(verify_access_token(SECRET, &t), Err(AuthError::Invalid));
    }

    fn signed(claims: JWTClaims<AccessClaims>) -> String {
        HS256Key::from_bytes(SECRET).authenticate(claims).unwrap()
    }

    fn access_claims() -> JWTClaims<AccessClaims> {
        Claims::with_custom_claims(
            AccessClaims {
                role: Role::Admin,
                typ: ACCESS_TYP.into(),
            },
            Duration::from_secs(900),
        )
        .with_issuer(ISSUER)
        .with_audience(AUDIENCE)
        .with_subject(1)
    }

    #[test]
    fn the_fixture_claims_verify() {
        assert!(verify_access_token(SECRET, &signed(access_claims())).is_ok());
    }

    #[test]
    fn wrong_or_missing_audience_is_refused() {
        let other = access_claims().with_audience("another-api");
        assert_eq!(
            verify_access_token(SECRET, &signed(other)),
            Err(AuthError::Invalid)
        );
        let mut none = access_claims();
        none.audiences = None;
        assert_eq!(
            verify_access_token(SECRET, &signed(none)),
            Err(AuthError::Invalid)
        );
    }

    #[test]
    fn not_yet_valid_is_refused_beyond_the_leeway() {
        let mut later = access_claims();
        later.invalid_before = Some(Clock::now_since_epoch() + Duration::from_secs(600));
        assert_eq!(
            verify_access_token(SECRET, &signed(later)),
            Err(AuthError::Invalid)
        );
        let mut slightly = access_claims();
        slightly.invalid_before = Some(Clock::now_since_epoch() + Duration::from_secs(5));
        assert!(verify_access_token(SECRET, &signed(slightly)).is_ok());
    }

    #[test]
    fn another_algorithm_in_the_header_is_refused() {
        let t = signed(access_claims());
        let (_, rest) = t.split_once('.').unwrap();
        // {"alg":"RS256","typ":"JWT"} over the same claims and signature.
        let rs256 = format!("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.{rest}");
        assert_eq!(verify_access_token(SECRET, &rs256), Err(AuthError::Invalid));
    }

    #[test]
    fn short_secret_is_refused() {
        assert_eq!(
            issue_access_token(b"short", 1, Role::Customer, 60),
            Err(AuthError::WeakSecret)
        );
    }

    #[test]
    fn placeholder_secrets_are_refused() {
        for s in [
            &b"CHANGE-ME-to-at-least-32-random-bytes"[..],
            b"this-is-an-example-secret-of-40-bytes!!!",
            &[b'a'; 64],
        ] {
            assert_eq!(check_secret(s), Err(AuthError::WeakSecret), "{s:?}");
        }
        assert_eq!(check_secret(SECRET), Ok(()));
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some("bearer  abc ")), Ok("abc"));
        assert_eq!(bearer_token(None), Err(AuthError::Missing));
        assert_eq!(bearer_token(Some("Basic abc")), Err(AuthError::Invalid));
        assert_eq!(bearer_token(Some("Bearer")), Err(AuthError::Invalid));
        assert_eq!(bearer_token(Some("Bearer ")), Err(AuthError::Invalid));
    }
}
