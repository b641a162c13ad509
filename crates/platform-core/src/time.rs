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

/// Days since 1970-01-01 of a civil date (the inverse of
/// [`civil_from_unix`]'s date part).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// An RFC 3339 date-time (`2026-12-06T10:00:00Z`, `…T10:00:00.5+07:00`;
/// `T`/`Z` in either case, as JSON Schema's `date-time`) as microseconds
/// since the Unix epoch; `None` for anything else. A leap second counts as
/// the last microsecond of its minute.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let digits = |from: usize, n: usize| -> Option<u32> {
        let part = b.get(from..from + n)?;
        part.iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(at(4, b'-')
        && at(7, b'-')
        && (at(10, b'T') || at(10, b't'))
        && at(13, b':')
        && at(16, b':'))
    {
        return None;
    }
    let (year, month, day) = (i64::from(digits(0, 4)?), digits(5, 2)?, digits(8, 2)?);
    let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if at(i, b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 6 {
                micros = micros * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        micros *= 10i64.pow(6u32.saturating_sub((i - start) as u32));
    }
    let offset_secs = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (oh, om) = (digits(i + 1, 2)?, digits(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = i64::from(oh * 3600 + om * 60);
            if *sign == b'+' {
                secs
            } else {
                -secs
            }
        }
        _ => return None,
    };
    let (second, micros) = if second == 60 {
        (59, 999_999)
    } else {
        (second, micros)
    };
    let local =
        days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some((local - offset_secs) * 1_000_000 + micros)
}

/// Microseconds since the Unix epoch as a UTC `timestamp` literal
/// (`YYYY-MM-DD HH:MM:SS.ffffff`) Postgres reads, clamped to years
/// 1–9999 (a bound beyond them selects the same rows).
pub fn timestamp_literal(unix_micros: i64) -> String {
    let (date, time) = civil_micros(unix_micros);
    format!("{date} {time}")
}

/// The same instant as RFC 3339 UTC text (`…T…Z`), clamped alike.
pub fn rfc3339_from_micros(unix_micros: i64) -> String {
    let (date, time) = civil_micros(unix_micros);
    format!("{date}T{time}Z")
}

fn civil_micros(unix_micros: i64) -> (String, String) {
    const MIN: i64 = -62_135_596_800_000_000; // 0001-01-01T00:00:00Z
    const MAX: i64 = 253_402_300_799_999_999; // 9999-12-31T23:59:59.999999Z
    let micros = unix_micros.clamp(MIN, MAX);
    let (secs, frac) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    let (year, month, day, rest) = civil_from_unix(secs);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!(
            "{:02}:{:02}:{:02}.{frac:06}",
            rest / 3600,
            rest / 60 % 60,
            rest % 60
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_date_times_parse_to_utc() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("1970-01-01t00:00:01.5z"), Some(1_500_000));
        assert_eq!(parse_rfc3339("1970-01-01T07:00:00+07:00"), Some(0));
        assert_eq!(parse_rfc3339("1969-12-31T23:00:00-01:00"), Some(0));
        assert_eq!(
            parse_rfc3339("2024-02-29T23:59:60Z"),
            Some(1_709_251_199_999_999)
        );
        assert_eq!(
            parse_rfc3339("2026-12-06T10:00:00.1234567Z"),
            Some(parse_rfc3339("2026-12-06T10:00:00Z").unwrap() + 123_456)
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for s in [
            "",
            "2026-12-06",
            "2026-12-06 10:00:00Z",
            "2026-12-06T10:00:00",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-12-06T24:00:00Z",
            "2026-12-06T10:00:00.Z",
            "2026-12-06T10:00:00+7:00",
            "2026-12-06T10:00:00+24:00",
            "2026-12-06T10:00:00Zjunk",
            "２026-12-06T10:00:00Z",
            "today",
        ] {
            assert_eq!(parse_rfc3339(s), None, "{s}");
        }
    }

    #[test]
    fn literals_are_utc_and_clamped() {
        let t = parse_rfc3339("2026-12-06T17:00:00.25+07:00").unwrap();
        assert_eq!(timestamp_literal(t), "2026-12-06 10:00:00.250000");
        let early = parse_rfc3339("0000-01-01T00:00:00Z").unwrap();
        assert_eq!(timestamp_literal(early), "0001-01-01 00:00:00.000000");
        let late = parse_rfc3339("9999-12-31T23:59:59-23:59").unwrap();
        assert_eq!(timestamp_literal(late), "9999-12-31 23:59:59.999999");
        assert_eq!(rfc3339_from_micros(t), "2026-12-06T10:00:00.250000Z");
    }

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
