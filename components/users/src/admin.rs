//! `shop:platform/users-admin`: accounts and the audit trail for the
//! operator (issue 26). Role changes are one call of `set_user_role` (V19),
//! which writes the audit row with the change.

use component_support::db::{self, Db, Row};
use component_support::wit::types::{Error, PageRequest};
use platform_core::account::Email;
use platform_core::admin::{like_prefix, AuditFilter, TargetType};
use platform_core::page::Page;
use platform_core::ServiceError;
use spin_sdk::pg4::ParameterValue;

use crate::exports::shop::platform::users::{Role, User};
use crate::exports::shop::users_admin::admin::{AuditEntry, AuditPage, Guest, UserPage};
use crate::service::{db, is_admin_email};
use crate::store::{role_name, Stored, COLUMNS};
use crate::Users;

impl Guest for Users {
    fn search_users(email_prefix: Option<String>, page: PageRequest) -> Result<UserPage, Error> {
        Ok(search(email_prefix, checked(page)?)?)
    }

    fn set_role(actor_id: i64, user_id: i64, role: Role) -> Result<User, Error> {
        Ok(set_role(actor_id, user_id, role)?)
    }

    fn list_audit(
        filter: crate::exports::shop::users_admin::admin::AuditFilter,
        page: PageRequest,
    ) -> Result<AuditPage, Error> {
        let filter = AuditFilter {
            actor_id: filter.actor_id,
            target_type: filter
                .target_type
                .map(|t| {
                    TargetType::parse(&t).ok_or_else(|| {
                        ServiceError::invalid("target_type must be order, payment or user")
                    })
                })
                .transpose()?,
            target_id: filter.target_id,
        };
        Ok(audit(&filter, checked(page)?)?)
    }
}

fn checked(page: PageRequest) -> Result<Page, ServiceError> {
    Page::new(page.page, page.page_size)
}

fn search(email_prefix: Option<String>, page: Page) -> Result<UserPage, ServiceError> {
    let mut params = Vec::new();
    let mut sql = format!("SELECT {COLUMNS} FROM users");
    if let Some(prefix) = email_prefix {
        // The index is on lower(email) text_pattern_ops (V19).
        sql.push_str(" WHERE lower(email) LIKE $1 ESCAPE '\\'");
        params.push(ParameterValue::Str(like_prefix(&prefix.to_lowercase())));
    }
    sql.push_str(" ORDER BY id DESC ");
    sql.push_str(&db::page_window(&page, &mut params));
    let rs = db()?.query(&sql, &params)?;
    let users = rs
        .rows
        .iter()
        .map(|r| Stored::try_from(&r[..]).map(|s| s.user))
        .collect::<Result<Vec<_>, _>>()?;
    let (users, has_more) = db::split_page(users, &page);
    Ok(UserPage { users, has_more })
}

fn set_role(actor_id: i64, user_id: i64, role: Role) -> Result<User, ServiceError> {
    let db = db()?;
    if role == Role::Customer && actor_id != user_id {
        refuse_demoting_an_admin_email(&db, user_id)?;
    }
    let rs = db.query(
        "SELECT outcome FROM set_user_role($1, $2, $3)",
        &[
            ParameterValue::Int64(user_id),
            ParameterValue::Str(role_name(role).to_string()),
            ParameterValue::Int64(actor_id),
        ],
    )?;
    let outcome = rs
        .rows
        .first()
        .map(|r| db::text(r, 0))
        .transpose()?
        .unwrap_or_default();
    match outcome.as_str() {
        "changed" | "unchanged" => read_user(&db, user_id),
        "self" => Err(ServiceError::conflict(
            "An administrator cannot change their own role",
        )),
        "not_found" => Err(ServiceError::not_found(format!("User {user_id} not found"))),
        "forbidden" => Err(ServiceError::Forbidden(
            "Administrator role required".to_string(),
        )),
        other => Err(ServiceError::internal(format!(
            "set_user_role outcome {other:?}"
        ))),
    }
}

/// A proven address in `admin_emails` is made an administrator again at its
/// next sign-in: demoting it here would not last (and would audit a change
/// that undoes itself), so it is refused until the setting drops it.
fn refuse_demoting_an_admin_email(db: &Db, user_id: i64) -> Result<(), ServiceError> {
    let user = read_user(db, user_id)?;
    let email = match user.email.map(Email::parse) {
        Some(Ok(email)) if user.email_verified => email,
        _ => return Ok(()),
    };
    if is_admin_email(&email)? {
        return Err(ServiceError::conflict(format!(
            "{} is in admin_emails: remove it there first, or it is an administrator \
             again at its next sign-in",
            email.as_str()
        )));
    }
    Ok(())
}

fn read_user(db: &Db, user_id: i64) -> Result<User, ServiceError> {
    let rs = db.query(
        &format!("SELECT {COLUMNS} FROM users WHERE id = $1"),
        &[ParameterValue::Int64(user_id)],
    )?;
    let row = rs
        .rows
        .first()
        .ok_or_else(|| ServiceError::not_found(format!("User {user_id} not found")))?;
    Ok(Stored::try_from(&row[..])?.user)
}

fn audit(filter: &AuditFilter, page: Page) -> Result<AuditPage, ServiceError> {
    let mut params = Vec::new();
    let mut conditions = Vec::new();
    if let Some(actor) = filter.actor_id {
        params.push(ParameterValue::Int64(actor));
        conditions.push(format!("a.actor_id = ${}", params.len()));
    }
    if let Some(target_type) = filter.target_type {
        params.push(ParameterValue::Str(target_type.as_str().to_string()));
        conditions.push(format!("a.target_type = ${}", params.len()));
    }
    if let Some(target) = filter.target_id {
        params.push(ParameterValue::Int64(target));
        conditions.push(format!("a.target_id = ${}", params.len()));
    }
    let mut sql = String::from(
        "SELECT a.id, a.actor_id, u.email, a.action, a.target_type, a.target_id, \
         a.before::text, a.after::text, a.at FROM admin_audit a \
         LEFT JOIN users u ON u.id = a.actor_id",
    );
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(" ORDER BY a.id DESC ");
    sql.push_str(&db::page_window(&page, &mut params));
    let rs = db()?.query(&sql, &params)?;
    let entries = rs
        .rows
        .iter()
        .map(|r| entry(&r[..]))
        .collect::<Result<Vec<_>, _>>()?;
    let (entries, has_more) = db::split_page(entries, &page);
    Ok(AuditPage { entries, has_more })
}

fn entry(row: &Row) -> Result<AuditEntry, ServiceError> {
    Ok(AuditEntry {
        id: db::int64(row, 0)?,
        actor_id: db::int64(row, 1)?,
        actor_email: db::opt_text(row, 2)?,
        action: db::text(row, 3)?,
        target_type: db::text(row, 4)?,
        target_id: db::int64(row, 5)?,
        before: db::opt_text(row, 6)?,
        after: db::opt_text(row, 7)?,
        at: db::timestamp(row, 8)?,
    })
}
