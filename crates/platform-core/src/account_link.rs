//! The bodies of the account-link routes (docs/decisions/0005 §1): email
//! verification, password reset and change. A token's shape is checked by
//! `auth_core::link::well_formed` before any SQL; here only the JSON.

use serde::Deserialize;

use crate::account::{Email, Password, MAX_LOGIN_PASSWORD_CHARS};
use crate::ServiceError;

/// One text for a link that is malformed, unknown, expired or used: the
/// answer never says which.
pub const BAD_LINK: &str = "This link is invalid, expired or already used";

/// The neutral answer of `POST /password/forgot`, whether or not an account
/// has the address.
pub const FORGOT_ACCEPTED: &str = "If an account uses this address, a reset link is on its way";

/// The answer of `POST /verify-email/resend`.
pub const VERIFY_QUEUED: &str = "A new verification link is on its way";

/// Longest token text read from a body (a real one is 43 characters).
const MAX_TOKEN_CHARS: usize = 128;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFields {
    token: String,
}

/// `POST /verify-email`: `{"token"}`.
pub fn verify_token_from_json(body: &[u8]) -> Result<String, ServiceError> {
    let f: TokenFields = serde_json::from_slice(body)
        .map_err(|_| ServiceError::invalid("body must be {\"token\": string}"))?;
    bounded_token(f.token)
}

fn bounded_token(token: String) -> Result<String, ServiceError> {
    if token.chars().count() > MAX_TOKEN_CHARS {
        return Err(ServiceError::invalid(BAD_LINK));
    }
    Ok(token)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailFields {
    email: String,
}

/// `POST /password/forgot`: `{"email"}`.
pub fn forgot_email_from_json(body: &[u8]) -> Result<Email, ServiceError> {
    let f: EmailFields = serde_json::from_slice(body)
        .map_err(|_| ServiceError::invalid("body must be {\"email\": string}"))?;
    Email::parse(f.email)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetFields {
    token: String,
    password: String,
}

/// `POST /password/reset`: `{"token", "password"}`; the new password meets
/// the registration rules.
pub struct PasswordReset {
    pub token: String,
    pub password: Password,
}

impl PasswordReset {
    pub fn from_json(body: &[u8]) -> Result<PasswordReset, ServiceError> {
        let f: ResetFields = serde_json::from_slice(body).map_err(|_| {
            ServiceError::invalid("body must be {\"token\": string, \"password\": string}")
        })?;
        Ok(PasswordReset {
            token: bounded_token(f.token)?,
            password: Password::parse(f.password)?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeFields {
    current_password: String,
    new_password: String,
}

/// `PUT /me/password`: `{"current_password", "new_password"}`. The current
/// one is only bounded (old accounts predate the rules); the new one meets
/// them.
pub struct PasswordChange {
    pub current: String,
    pub new: Password,
}

impl PasswordChange {
    pub fn from_json(body: &[u8]) -> Result<PasswordChange, ServiceError> {
        let f: ChangeFields = serde_json::from_slice(body).map_err(|_| {
            ServiceError::invalid(
                "body must be {\"current_password\": string, \"new_password\": string}",
            )
        })?;
        let chars = f.current_password.chars().count();
        if chars == 0 || chars > MAX_LOGIN_PASSWORD_CHARS || f.current_password.contains('\0') {
            return Err(ServiceError::invalid(format!(
                "current_password must be 1 to {MAX_LOGIN_PASSWORD_CHARS} characters"
            )));
        }
        Ok(PasswordChange {
            current: f.current_password,
            new: Password::parse(f.new_password)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_exact() {
        assert_eq!(
            verify_token_from_json(br#"{"token":"abc"}"#).unwrap(),
            "abc"
        );
        for bad in [
            &b"{}"[..],
            br#"{"token":1}"#,
            br#"{"token":"a","x":1}"#,
            b"nope",
        ] {
            assert!(verify_token_from_json(bad).is_err());
        }
        let long = format!(r#"{{"token":"{}"}}"#, "a".repeat(129));
        assert_eq!(
            verify_token_from_json(long.as_bytes()),
            Err(ServiceError::invalid(BAD_LINK))
        );
        assert_eq!(
            forgot_email_from_json(br#"{"email":" A@B.CO "}"#)
                .unwrap()
                .as_str(),
            "a@b.co"
        );
        assert!(forgot_email_from_json(br#"{"email":"nope"}"#).is_err());
    }

    #[test]
    fn new_passwords_meet_the_rules_current_ones_are_bounded() {
        let ok = PasswordReset::from_json(br#"{"token":"t","password":"long enough pw"}"#).unwrap();
        assert_eq!(ok.password.expose(), "long enough pw");
        assert!(PasswordReset::from_json(br#"{"token":"t","password":"short"}"#).is_err());
        let change = PasswordChange::from_json(
            br#"{"current_password":"old","new_password":"a new long password"}"#,
        )
        .unwrap();
        assert_eq!(change.current, "old");
        assert!(PasswordChange::from_json(
            br#"{"current_password":"","new_password":"a new long password"}"#
        )
        .is_err());
        assert!(
            PasswordChange::from_json(br#"{"current_password":"old","new_password":"short"}"#)
                .is_err()
        );
    }
}
