//! RFC 3339 UTC text for the `timestamp` columns (stored as UTC, no zone).

/// Formats the fields of a UTC `timestamp` as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn rfc3339_utc(
    year: i32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    nanos: u32,
) -> String {
    format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{:06}Z",
        nanos / 1_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_microseconds_and_zulu() {
        assert_eq!(
            rfc3339_utc(2026, 11, 5, 9, 3, 7, 123_456_789),
            "2026-11-05T09:03:07.123456Z"
        );
        assert_eq!(
            rfc3339_utc(2026, 1, 1, 0, 0, 0, 0),
            "2026-01-01T00:00:00.000000Z"
        );
    }
}
