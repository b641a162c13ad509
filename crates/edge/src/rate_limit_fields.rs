//! The IETF `RateLimit-Policy` and `RateLimit` field values
//! (draft-ietf-httpapi-ratelimit-headers-09), on admitted and refused replies.

/// `RateLimit-Policy` members: `"name";q=<capacity>;w=<window>`.
pub fn policy_field<'a>(policies: impl IntoIterator<Item = (&'a str, u32, u32)>) -> String {
    policies
        .into_iter()
        .map(|(name, quota, window)| format!("\"{name}\";q={quota};w={window}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `RateLimit` members: `"name";r=<remaining>;t=<seconds>`.
pub fn state_field<'a>(states: impl IntoIterator<Item = (&'a str, i64, u32)>) -> String {
    states
        .into_iter()
        .map(|(name, remaining, reset)| format!("\"{name}\";r={remaining};t={reset}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ietf_field_values() {
        assert_eq!(
            policy_field([("login-address", 20, 100), ("login-email", 5, 250)]),
            r#""login-address";q=20;w=100, "login-email";q=5;w=250"#
        );
        assert_eq!(
            state_field([("product-write", 19, 1)]),
            r#""product-write";r=19;t=1"#
        );
    }
}
