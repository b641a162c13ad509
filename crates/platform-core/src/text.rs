//! Text fields: the rules every service applies to every string it stores.

use crate::ServiceError;

/// Checks a text field: at most `max_chars` characters as sent (before any
/// trimming, so the OpenAPI document's `maxLength` is the rule exactly) and
/// no NUL (Postgres `text` cannot hold U+0000 and would refuse it with
/// SQLSTATE 22021, which must be the client's 400, not a 500). With
/// `required`, blank is refused. Returns the value trimmed when `trim` is
/// set.
pub fn field(
    name: &str,
    value: String,
    required: bool,
    trim: bool,
    max_chars: usize,
) -> Result<String, ServiceError> {
    let sent_chars = value.chars().count();
    let value = if trim {
        value.trim().to_string()
    } else {
        value
    };
    if value.contains('\0') {
        return Err(ServiceError::invalid(format!(
            "{name} must not contain NUL characters"
        )));
    }
    if (required && value.trim().is_empty()) || sent_chars > max_chars {
        let min = if required { 1 } else { 0 };
        return Err(ServiceError::invalid(format!(
            "{name} must be {min} to {max_chars} characters"
        )));
    }
    Ok(value)
}

/// Lower-case hexadecimal of `bytes` (tokens, digests, request ids): the
/// one encoder every crate uses.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn trims_and_bounds() {
        assert_eq!(field("name", " a ".into(), true, true, 3).unwrap(), "a");
        assert!(field("name", "   ".into(), true, true, 3).is_err());
        assert!(field("name", "abcd".into(), true, true, 3).is_err());
        assert_eq!(field("d", "".into(), false, false, 3).unwrap(), "");
    }

    #[test]
    fn refuses_nul_anywhere() {
        for v in ["a\0b", "\0", "ab\0"] {
            let err = field("name", v.into(), false, false, 10).unwrap_err();
            assert!(
                matches!(&err, ServiceError::InvalidInput(m) if m.contains("name")),
                "{err:?}"
            );
        }
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(field("n", "ééé".into(), true, false, 3).is_ok());
    }
}
