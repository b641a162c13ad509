//! RFC 3339 UTC text for the `timestamp` columns (stored as UTC, no zone),
//! and the calendar arithmetic the local fakes write their times with.

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

/// A Unix time in seconds as its civil date and time of day in UTC:
/// `(year, month, day, seconds since midnight)` (Howard Hinnant's
/// days-from-civil inverse; valid for any i64 day count a clock gives).
pub fn civil_from_unix(secs: i64) -> (i64, u32, u32, u32) {
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // All in range by construction: month 1–12, day 1–31, rest < 86 400.
    (year, month as u32, day as u32, rest as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_are_civil_dates() {
        assert_eq!(civil_from_unix(0), (1970, 1, 1, 0));
        assert_eq!(civil_from_unix(1_709_251_199), (2024, 2, 29, 86_399));
        assert_eq!(civil_from_unix(1_796_191_200), (2026, 12, 2, 6 * 3600));
        assert_eq!(civil_from_unix(-1), (1969, 12, 31, 86_399));
    }

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
