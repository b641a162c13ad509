//! Postgres errors, by SQLSTATE, onto the service error contract — the one
//! place every service's database failures are classified.

use crate::ServiceError;

/// What a failed statement means to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbFailure {
    /// Another statement won a race (serialization failure, deadlock): the
    /// statement may be run again once.
    Retryable,
    /// Map to this error.
    Final(ServiceError),
}

/// The quoted constraint name in a Postgres message, e.g.
/// `… violates check constraint "products_price_check"`.
pub fn constraint_name(message: &str) -> Option<&str> {
    let start = message.find("constraint \"")? + "constraint \"".len();
    let rest = &message[start..];
    rest.find('"').map(|end| &rest[..end])
}

/// `products_price_check` → `price`; `users_email_key` → `email`: the column
/// part of Postgres's default constraint names (table, columns, suffix).
pub fn constraint_subject(constraint: &str) -> String {
    let without_suffix = ["_check", "_key", "_fkey", "_excl", "_idx"]
        .iter()
        .find_map(|s| constraint.strip_suffix(s))
        .unwrap_or(constraint);
    match without_suffix.split_once('_') {
        Some((_table, subject)) if !subject.is_empty() => subject.replace('_', " "),
        _ => "a value".to_string(),
    }
}

/// Classifies a server error by SQLSTATE and message. `None` for codes that
/// mean a bug or an outage the caller classifies itself.
pub fn classify(code: &str, message: &str) -> Option<DbFailure> {
    let subject = || {
        constraint_name(message)
            .map(constraint_subject)
            .unwrap_or_else(|| "a value".to_string())
    };
    let failure = match code {
        "40001" | "40P01" => DbFailure::Retryable,
        "23505" => DbFailure::Final(ServiceError::conflict(format!(
            "{} is already taken",
            subject()
        ))),
        "23514" => DbFailure::Final(ServiceError::invalid(format!(
            "{} is out of range",
            subject()
        ))),
        "23503" => DbFailure::Final(ServiceError::not_found(
            "A record this refers to does not exist",
        )),
        "23502" => DbFailure::Final(ServiceError::invalid("A required value is missing")),
        // invalid text representation, NUL in text, too long, out of range
        "22P02" | "22021" | "22001" | "22003" | "22008" => DbFailure::Final(ServiceError::invalid(
            "A value is malformed or out of range",
        )),
        "57014" => DbFailure::Final(ServiceError::unavailable(
            "The database took too long to answer",
        )),
        c if c.starts_with("08") || c.starts_with("57P") || c == "53300" => {
            DbFailure::Final(ServiceError::unavailable("The database is unavailable"))
        }
        _ => return None,
    };
    Some(failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn final_error(code: &str, message: &str) -> ServiceError {
        match classify(code, message) {
            Some(DbFailure::Final(e)) => e,
            other => panic!("{code}: {other:?}"),
        }
    }

    #[test]
    fn constraint_names_give_the_field() {
        let m =
            r#"new row for relation "products" violates check constraint "products_price_check""#;
        assert_eq!(constraint_name(m), Some("products_price_check"));
        assert_eq!(
            final_error("23514", m),
            ServiceError::invalid("price is out of range")
        );
        let m = r#"duplicate key value violates unique constraint "users_email_key""#;
        assert_eq!(
            final_error("23505", m),
            ServiceError::conflict("email is already taken")
        );
        assert_eq!(constraint_subject("weird"), "a value");
        assert_eq!(
            constraint_subject("order_items_order_id_fkey"),
            "items order id"
        );
    }

    #[test]
    fn codes_map_to_the_contract() {
        assert!(matches!(classify("40001", ""), Some(DbFailure::Retryable)));
        assert!(matches!(classify("40P01", ""), Some(DbFailure::Retryable)));
        for code in ["22P02", "22021", "22001", "22003"] {
            assert!(matches!(
                final_error(code, ""),
                ServiceError::InvalidInput(_)
            ));
        }
        for code in ["57014", "08006", "57P01", "53300"] {
            assert!(matches!(
                final_error(code, ""),
                ServiceError::Unavailable(_)
            ));
        }
        assert!(matches!(
            final_error("23503", ""),
            ServiceError::NotFound(_)
        ));
        assert_eq!(classify("42P01", "relation does not exist"), None);
        // No SQL text ever reaches a message.
        let e = final_error(
            "23505",
            "duplicate key value violates unique constraint \"t_x_key\" DETAIL: Key (x)=(secret)",
        );
        assert!(!format!("{e:?}").contains("secret"));
    }
}
