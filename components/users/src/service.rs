//! Sign-up, sign-in and sessions.

use auth_core::{password, refresh};
use component_support::config;
use component_support::db::Db;
use component_support::random;
use platform_core::account::{AdminEmails, Credentials, Email, Registration};
use platform_core::ServiceError;

use crate::exports::shop::platform::users::{Role, Session, TokenPair, User};
use crate::settings;
use crate::store::{self, Rotation, Stored};

/// One message for an unknown email and a wrong password alike.
const BAD_CREDENTIALS: &str = "Invalid email or password";
const BAD_REFRESH: &str = "Invalid or expired refresh token";

pub fn db() -> Result<Db, ServiceError> {
    Db::open(&config::get(&settings::DATABASE_URL)?)
}

pub fn is_admin_email(email: &Email) -> Result<bool, ServiceError> {
    Ok(AdminEmails::parse(&config::get(&settings::ADMIN_EMAILS)?).contains(email))
}

pub fn hash_password(password: &str) -> Result<String, ServiceError> {
    password::hash(password, &random::bytes::<16>())
        .map_err(|e| ServiceError::internal(format!("password hashing failed: {e:?}")))
}

fn auth_error(e: auth_core::AuthError) -> ServiceError {
    ServiceError::internal(format!("token signing failed: {}", e.message()))
}

/// A new account is a customer whatever its address: the address is not
/// proven yet, and whoever registers an `admin_emails` address first must
/// not become an administrator (the role comes with the proof).
pub fn register(r: &Registration) -> Result<User, ServiceError> {
    let hash = hash_password(r.password.expose())?;
    let db = db()?;
    let user = store::insert(&db, r.full_name.as_str(), &r.email, &hash, Role::Customer)?
        .map(|stored| stored.user)
        .ok_or_else(|| ServiceError::conflict("Email is already registered"))?;
    // The verification mail; if this statement fails the account stands
    // and its owner asks for a link again.
    crate::links::queue_verification(&db, user.id)?;
    Ok(user)
}

pub fn login(email: String, password: String) -> Result<Session, ServiceError> {
    let credentials =
        Credentials::parse(email, password).map_err(|_| unauthenticated(BAD_CREDENTIALS))?;
    // The connection goes back to Spin's pool before the hash (tens of
    // milliseconds of CPU): held across it, concurrent sign-ins each pinned
    // one and a 32-connection load ran Postgres out of connections
    // (spin-facts.md). A success opens one again for the session.
    let url = config::get(&settings::DATABASE_URL)?;
    let stored = store::by_email(&Db::open(&url)?, &credentials.email)?;
    // An unknown email, or an account without a password (provider
    // sign-in only), is checked against the decoy: the same work as a wrong
    // password, so timing does not tell which emails exist.
    let hash = stored
        .as_ref()
        .and_then(|s| s.password_hash.as_deref())
        .unwrap_or(password::DECOY_HASH);
    let checked = password::verify(credentials.password.expose(), hash)
        .map_err(|e| ServiceError::internal(format!("stored password hash unusable: {e:?}")))?;
    let Some(stored) = stored.filter(|s| checked.matches && s.password_hash.is_some()) else {
        return Err(unauthenticated(BAD_CREDENTIALS));
    };
    let new_hash = match checked.rehash {
        true => Some(hash_password(credentials.password.expose())?),
        false => None,
    };
    start_session(&Db::open(&url)?, stored, new_hash)
}

/// A signed-in account gets a new refresh-token family and an access
/// token. On the way: the admin role when its proven email is in
/// `admin_emails` (checked at every sign-in, so a later change of the list
/// takes effect),
/// and a stored password hash that needed renewing.
pub fn start_session(
    db: &Db,
    stored: Stored,
    new_hash: Option<String>,
) -> Result<Session, ServiceError> {
    start_session_checked(db, stored, new_hash, true)
}

/// [`start_session`]; `check_admin` false for an account whose role was
/// just decided from `admin_emails` (read once per request).
pub fn start_session_checked(
    db: &Db,
    mut stored: Stored,
    new_hash: Option<String>,
    check_admin: bool,
) -> Result<Session, ServiceError> {
    let promote = check_admin
        && stored.user.role == Role::Customer
        && stored.user.email_verified
        && match stored.user.email.clone().map(Email::parse) {
            Some(Ok(email)) => is_admin_email(&email)?,
            _ => false,
        };
    if promote {
        stored.user.role = Role::Admin;
    }
    if new_hash.is_some() || promote {
        store::update_on_login(db, stored.user.id, new_hash.as_deref(), promote)?;
    }
    let refresh_token = refresh::new_token(&random::bytes::<{ refresh::RANDOM_BYTES }>());
    store::start_family(
        db,
        stored.user.id,
        &refresh::storage_hash(&refresh_token),
        settings::refresh_ttl()?,
        settings::session_max_age()?,
    )?;
    Ok(Session {
        tokens: TokenPair {
            access_token: access_token(&settings::jwt_secret()?, stored.user.id, stored.user.role)?,
            refresh_token,
        },
        user: stored.user,
    })
}

fn access_token(secret: &str, user_id: i64, role: Role) -> Result<String, ServiceError> {
    let role = match role {
        Role::Customer => auth_core::Role::Customer,
        Role::Admin => auth_core::Role::Admin,
    };
    auth_core::issue_access_token(secret.as_bytes(), user_id, role, settings::access_ttl()?)
        .map_err(auth_error)
}

pub fn refresh(token: &str) -> Result<TokenPair, ServiceError> {
    if !refresh::well_formed(token) {
        return Err(unauthenticated(BAD_REFRESH));
    }
    let secret = settings::jwt_secret()?;
    let successor = refresh::successor(secret.as_bytes(), token).map_err(auth_error)?;
    let rotation = store::rotate(
        &db()?,
        &refresh::storage_hash(token),
        &refresh::storage_hash(&successor),
        settings::refresh_ttl()?,
        settings::reuse_interval()?,
    )?;
    match rotation {
        Rotation::Rotated { user_id, role } => Ok(TokenPair {
            access_token: access_token(&secret, user_id, role)?,
            refresh_token: successor,
        }),
        Rotation::Reused { user_id } => {
            component_support::log::warn(
                "refresh token reused; session family revoked",
                &format!("user_id={user_id}"),
            );
            Err(unauthenticated(
                "Refresh token was already used; sign in again",
            ))
        }
        Rotation::Invalid => Err(unauthenticated(BAD_REFRESH)),
    }
}

pub fn logout(token: &str) -> Result<(), ServiceError> {
    if !refresh::well_formed(token) {
        return Ok(());
    }
    store::revoke_family(&db()?, &refresh::storage_hash(token))
}

pub fn get(id: i64) -> Result<User, ServiceError> {
    store::by_id(&db()?, id)?
        .map(|s| s.user)
        .ok_or_else(|| ServiceError::not_found("User not found"))
}

fn unauthenticated(message: &str) -> ServiceError {
    ServiceError::Unauthenticated(message.to_string())
}
