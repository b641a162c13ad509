//! Ids taken from URL path segments.

use crate::ServiceError;

/// A positive 64-bit id; anything else is a 400 naming `what`.
pub fn parse_id(segment: &str, what: &str) -> Result<i64, ServiceError> {
    match segment.parse::<i64>() {
        Ok(id) if id >= 1 => Ok(id),
        _ => Err(ServiceError::invalid(format!(
            "{what} must be a positive integer"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_positive_ids() {
        assert_eq!(parse_id("42", "id").unwrap(), 42);
        assert_eq!(parse_id("9223372036854775807", "id").unwrap(), i64::MAX);
    }

    #[test]
    fn rejects_the_rest() {
        for s in [
            "0",
            "-1",
            "abc",
            "",
            "1.0",
            "9223372036854775808",
            "+",
            " 1",
        ] {
            assert!(
                matches!(
                    parse_id(s, "product id"),
                    Err(ServiceError::InvalidInput(_))
                ),
                "{s:?}"
            );
        }
    }
}
