//! The users service's SQL. Each change is one statement (or one call of a
//! SQL function that is a single statement to the server).

use component_support::db::{self, Db, Row};
use platform_core::account::Email;
use platform_core::ServiceError;
use spin_sdk::pg4::{DbValue, ParameterValue};

use crate::exports::shop::platform::users::{Role, User};

pub const COLUMNS: &str =
    "id, full_name, email, role, created_at, password_hash, email_verified_at IS NOT NULL";

/// A user and what only the service may see.
pub struct Stored {
    pub user: User,
    pub password_hash: Option<String>,
}

fn role(text: &str) -> Result<Role, ServiceError> {
    match text {
        "customer" => Ok(Role::Customer),
        "admin" => Ok(Role::Admin),
        other => Err(ServiceError::internal(format!("unknown role {other:?}"))),
    }
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Customer => "customer",
        Role::Admin => "admin",
    }
}

impl TryFrom<&Row> for Stored {
    type Error = ServiceError;

    fn try_from(row: &Row) -> Result<Stored, ServiceError> {
        Ok(Stored {
            user: User {
                id: db::int64(row, 0)?,
                full_name: db::text(row, 1)?,
                email: db::opt_text(row, 2)?,
                role: role(&db::text(row, 3)?)?,
                created_at: db::timestamp(row, 4)?,
                email_verified: db::boolean(row, 6)?,
            },
            password_hash: db::opt_text(row, 5)?,
        })
    }
}

fn one(rows: &[Vec<DbValue>]) -> Result<Option<Stored>, ServiceError> {
    rows.first().map(|r| Stored::try_from(&r[..])).transpose()
}

/// A new account, or `None` when the email is taken (two concurrent
/// registrations of one email: one row, one `None`, never an error).
pub fn insert(
    db: &Db,
    full_name: &str,
    email: &Email,
    password_hash: &str,
    role: Role,
) -> Result<Option<Stored>, ServiceError> {
    let sql = format!(
        "INSERT INTO users (full_name, email, password_hash, role) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (lower(email)) DO NOTHING RETURNING {COLUMNS}"
    );
    let rs = db.query(
        &sql,
        &[
            ParameterValue::Str(full_name.to_string()),
            ParameterValue::Str(email.as_str().to_string()),
            ParameterValue::Str(password_hash.to_string()),
            ParameterValue::Str(role_name(role).to_string()),
        ],
    )?;
    one(&rs.rows)
}

pub fn by_email(db: &Db, email: &Email) -> Result<Option<Stored>, ServiceError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE lower(email) = $1");
    one(&db
        .query(&sql, &[ParameterValue::Str(email.as_str().to_string())])?
        .rows)
}

pub fn by_id(db: &Db, id: i64) -> Result<Option<Stored>, ServiceError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    one(&db.query(&sql, &[ParameterValue::Int64(id)])?.rows)
}

/// After a sign-in: a new password hash (the old one was bcrypt or weaker
/// argon2) and/or the admin role (`admin_emails`). Only run when needed.
/// The role is only ever raised here, never written back as read: an
/// operator's demotion during the sign-in's argon2 stands.
pub fn update_on_login(
    db: &Db,
    id: i64,
    password_hash: Option<&str>,
    promote: bool,
) -> Result<(), ServiceError> {
    let hash = match password_hash {
        Some(h) => ParameterValue::Str(h.to_string()),
        None => ParameterValue::DbNull,
    };
    db.execute(
        "UPDATE users SET password_hash = COALESCE($2::text, password_hash), \
         role = CASE WHEN $3 THEN 'admin' ELSE role END, \
         updated_at = now() AT TIME ZONE 'UTC' WHERE id = $1",
        &[
            ParameterValue::Int64(id),
            hash,
            ParameterValue::Boolean(promote),
        ],
    )?;
    Ok(())
}

/// A new family and its first token, in one statement.
pub fn start_family(
    db: &Db,
    user_id: i64,
    token_hash: &str,
    token_ttl_secs: i32,
    max_age_secs: i32,
) -> Result<(), ServiceError> {
    db.execute(
        "WITH family AS ( \
           INSERT INTO refresh_token_families (id, user_id, expires_at) \
           VALUES (gen_random_uuid(), $1, \
                   (now() AT TIME ZONE 'UTC') + $3::integer * interval '1 second') \
           RETURNING id, expires_at) \
         INSERT INTO refresh_tokens (token_hash, family_id, expires_at) \
         SELECT $2, family.id, LEAST((now() AT TIME ZONE 'UTC') + $4::integer * interval '1 second', \
                                     family.expires_at) FROM family",
        &[
            ParameterValue::Int64(user_id),
            ParameterValue::Str(token_hash.to_string()),
            ParameterValue::Int32(max_age_secs),
            ParameterValue::Int32(token_ttl_secs),
        ],
    )?;
    Ok(())
}

/// What a rotation found (the SQL function `rotate_refresh_token`, V7).
pub enum Rotation {
    Rotated { user_id: i64, role: Role },
    Reused { user_id: i64 },
    Invalid,
}

pub fn rotate(
    db: &Db,
    token_hash: &str,
    successor_hash: &str,
    ttl_secs: i32,
    reuse_secs: i32,
) -> Result<Rotation, ServiceError> {
    let rs = db.query(
        "SELECT outcome, user_id, role FROM rotate_refresh_token($1, $2, $3, $4)",
        &[
            ParameterValue::Str(token_hash.to_string()),
            ParameterValue::Str(successor_hash.to_string()),
            ParameterValue::Int32(ttl_secs),
            ParameterValue::Int32(reuse_secs),
        ],
    )?;
    let Some(row) = rs.rows.first() else {
        // 'rotated' for a user deleted meanwhile returns no row.
        return Ok(Rotation::Invalid);
    };
    Ok(match db::text(row, 0)?.as_str() {
        "rotated" => Rotation::Rotated {
            user_id: db::int64(row, 1)?,
            role: role(&db::text(row, 2)?)?,
        },
        "reused" => Rotation::Reused {
            user_id: db::int64(row, 1)?,
        },
        "invalid" => Rotation::Invalid,
        other => {
            return Err(ServiceError::internal(format!(
                "rotate_refresh_token outcome {other}"
            )))
        }
    })
}

/// Revokes the family of a token; unknown tokens change nothing.
pub fn revoke_family(db: &Db, token_hash: &str) -> Result<(), ServiceError> {
    db.execute(
        "UPDATE refresh_token_families SET revoked_at = now() AT TIME ZONE 'UTC' \
         WHERE id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1) \
           AND revoked_at IS NULL",
        &[ParameterValue::Str(token_hash.to_string())],
    )?;
    Ok(())
}

/// The account a provider identity signed in before.
pub fn by_identity(db: &Db, provider: &str, subject: &str) -> Result<Option<Stored>, ServiceError> {
    let sql = format!(
        "SELECT {} FROM oauth_identities i JOIN users u ON u.id = i.user_id \
         WHERE i.provider = $1 AND i.subject = $2",
        COLUMNS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    one(&db
        .query(
            &sql,
            &[
                ParameterValue::Str(provider.to_string()),
                ParameterValue::Str(subject.to_string()),
            ],
        )?
        .rows)
}

/// Links a provider identity whose email the provider verified to the
/// account of that email (V15 `link_verified_identity`); true when the
/// account was a squatter's (unverified, with a password): its password,
/// sessions, name and role are gone.
pub fn link_verified_identity(
    db: &Db,
    user_id: i64,
    provider: &str,
    subject: &str,
    email: &Email,
    name: &str,
) -> Result<bool, ServiceError> {
    let rs = db.query(
        "SELECT evicted FROM link_verified_identity($1, $2, $3, $4, $5)",
        &[
            ParameterValue::Int64(user_id),
            ParameterValue::Str(provider.to_string()),
            ParameterValue::Str(subject.to_string()),
            ParameterValue::Str(email.as_str().to_string()),
            ParameterValue::Str(name.to_string()),
        ],
    )?;
    match rs.rows.first() {
        Some(row) => db::boolean(row, 0),
        None => Err(ServiceError::internal("link_verified_identity gave no row")),
    }
}

/// Tells an evicted account's owner that the password someone else set is
/// gone (the mail worker sends it on its next wake).
pub fn queue_password_removed(db: &Db, user_id: i64) -> Result<(), ServiceError> {
    db.execute(
        "INSERT INTO mail_deliveries (kind, user_id) VALUES ('password_removed', $1)",
        &[ParameterValue::Int64(user_id)],
    )?;
    Ok(())
}

fn opt_str(value: Option<&str>) -> ParameterValue {
    match value {
        Some(v) => ParameterValue::Str(v.to_string()),
        None => ParameterValue::DbNull,
    }
}

/// A new account (no password) and its provider identity, in one
/// statement. `email` is the account's (only a verified one); the
/// provider's own address is kept on the identity either way.
pub fn create_with_identity(
    db: &Db,
    full_name: &str,
    email: Option<&str>,
    role: Role,
    provider: &str,
    subject: &str,
    provider_email: Option<&str>,
) -> Result<Stored, ServiceError> {
    let sql = format!(
        "WITH u AS ( \
           INSERT INTO users (full_name, email, role, email_verified_at) \
           VALUES ($1, $2, $3, CASE WHEN $2::text IS NULL THEN NULL ELSE now() AT TIME ZONE 'UTC' END) \
           RETURNING *), \
         i AS ( \
           INSERT INTO oauth_identities (provider, subject, user_id, email) \
           SELECT $4, $5, u.id, $6 FROM u) \
         SELECT {COLUMNS} FROM u"
    );
    let rs = db.query(
        &sql,
        &[
            ParameterValue::Str(full_name.to_string()),
            opt_str(email),
            ParameterValue::Str(role_name(role).to_string()),
            ParameterValue::Str(provider.to_string()),
            ParameterValue::Str(subject.to_string()),
            opt_str(provider_email),
        ],
    )?;
    one(&rs.rows)?.ok_or_else(|| ServiceError::internal("INSERT … RETURNING gave no row"))
}
