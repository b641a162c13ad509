//! Email verification, password reset and change (docs/decisions/0005 §1).
//! Each change is one SQL call (V17); the link itself is derived and mailed
//! by the mail worker, so no usable token ever passes through here except
//! the one the user brings back.

use auth_core::{link, password};
use component_support::config;
use component_support::db::{self, Db};
use platform_core::account::{AdminEmails, Email, Password};
use platform_core::account_link::BAD_LINK;
use platform_core::{RateLimit, ServiceError};
use spin_sdk::pg4::ParameterValue;

use crate::exports::shop::platform::users::TokenPair;
use crate::service::{self, db};
use crate::settings;
use crate::store;

/// How `request_account_link` refuses a link too soon after another.
const TOO_SOON_SECS: u32 = 60;

pub fn verify_email(token: &str) -> Result<(), ServiceError> {
    if !link::well_formed(token) {
        return Err(bad_link());
    }
    let admins = AdminEmails::parse(&config::get(&settings::ADMIN_EMAILS)?);
    let outcome = one_text(
        &db()?,
        "SELECT use_verify_link($1, string_to_array($2, ','))",
        &[
            ParameterValue::Str(link::storage_hash(token)),
            ParameterValue::Str(admins.joined()),
        ],
    )?;
    match outcome.as_str() {
        "verified" => Ok(()),
        _ => Err(bad_link()),
    }
}

pub fn request_verification(user_id: i64) -> Result<(), ServiceError> {
    match request(&db()?, None, Some(user_id), "verify_email")?.as_str() {
        "queued" => Ok(()),
        "verified" => Err(ServiceError::conflict("This email is already verified")),
        "unknown" => Err(ServiceError::invalid("This account has no email to verify")),
        refused => Err(too_many("verify-resend", refused)),
    }
}

/// A new account's first verify link.
pub fn queue_verification(db: &Db, user_id: i64) -> Result<(), ServiceError> {
    request(db, None, Some(user_id), "verify_email").map(|_| ())
}

/// Always `Ok`: the answer never says whether the address has an account,
/// nor that its links are capped (the owner got the earlier ones).
pub fn forgot_password(email: &Email) -> Result<(), ServiceError> {
    request(&db()?, Some(email), None, "reset_password").map(|_| ())
}

/// The account's email when the link was good.
pub fn reset_password(token: &str, new_password: &Password) -> Result<String, ServiceError> {
    if !link::well_formed(token) {
        return Err(bad_link());
    }
    let hash = service::hash_password(new_password.expose())?;
    let db = db()?;
    let rs = db.query(
        "SELECT reset_password($1, $2)",
        &[
            ParameterValue::Str(link::storage_hash(token)),
            ParameterValue::Str(hash),
        ],
    )?;
    match rs
        .rows
        .first()
        .map(|row| db::opt_int64(row, 0))
        .transpose()?
    {
        Some(Some(user_id)) => {
            component_support::log::warn(
                "password reset: every session of the account ended",
                &format!("user_id={user_id}"),
            );
            store::by_id(&db, user_id)?
                .and_then(|s| s.user.email)
                .ok_or_else(|| ServiceError::internal("a reset account has no email"))
        }
        _ => Err(bad_link()),
    }
}

pub fn change_password(
    user_id: i64,
    current: &str,
    new_password: &Password,
) -> Result<TokenPair, ServiceError> {
    let db = db()?;
    let stored = store::by_id(&db, user_id)?
        .ok_or_else(|| ServiceError::Unauthenticated("Account not found".to_string()))?;
    let Some(checked_hash) = stored.password_hash.clone() else {
        // A stolen access token must not be able to set a first password.
        return Err(ServiceError::conflict(
            "This account has no password; use \"forgot password\" to set one",
        ));
    };
    let checked = password::verify(current, &checked_hash)
        .map_err(|e| ServiceError::internal(format!("stored password hash unusable: {e:?}")))?;
    if !checked.matches {
        return Err(ServiceError::Forbidden(
            "The current password is wrong".to_string(),
        ));
    }
    let new_hash = service::hash_password(new_password.expose())?;
    let outcome = one_text(
        &db,
        "SELECT change_password($1, $2, $3)",
        &[
            ParameterValue::Int64(user_id),
            ParameterValue::Str(checked_hash),
            ParameterValue::Str(new_hash),
        ],
    )?;
    if outcome != "changed" {
        return Err(ServiceError::conflict(
            "The password was changed meanwhile; sign in again",
        ));
    }
    Ok(service::start_session(&db, stored, None)?.tokens)
}

fn request(
    db: &Db,
    email: Option<&Email>,
    user_id: Option<i64>,
    purpose: &str,
) -> Result<String, ServiceError> {
    one_text(
        db,
        "SELECT request_account_link($1, $2, $3)",
        &[
            email.map_or(ParameterValue::DbNull, |e| {
                ParameterValue::Str(e.as_str().to_string())
            }),
            user_id.map_or(ParameterValue::DbNull, ParameterValue::Int64),
            ParameterValue::Str(purpose.to_string()),
        ],
    )
}

fn one_text(db: &Db, sql: &str, params: &[ParameterValue]) -> Result<String, ServiceError> {
    let rs = db.query(sql, params)?;
    match rs.rows.first() {
        Some(row) => db::text(row, 0),
        None => Err(ServiceError::internal(format!("{sql}: no row"))),
    }
}

fn bad_link() -> ServiceError {
    ServiceError::invalid(BAD_LINK)
}

/// The durable caps of `request_account_link`: one link a minute, five a day.
fn too_many(policy: &str, refused: &str) -> ServiceError {
    let (capacity, window_secs, retry_after_secs) = match refused {
        "too_soon" => (1, TOO_SOON_SECS, TOO_SOON_SECS),
        _ => (5, 86_400, 3_600),
    };
    ServiceError::RateLimited(RateLimit {
        policy: policy.to_string(),
        capacity,
        window_secs,
        retry_after_secs,
    })
}
