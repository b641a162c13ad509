//! Unique ids and timestamps, written the way Midtrans writes them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use platform_core::text::hex;
use platform_core::time::civil_from_unix;

/// 32 unique hex digits: time, a counter and the pid hashed (no rand needed).
fn unique_hex() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let seed = format!("{nanos}:{n}:{}", std::process::id());
    hex(&hmac_sha512::Hash::hash(seed.as_bytes())[..16])
}

/// `8-4-4-4-12` hex, the shape of Snap tokens and transaction ids.
pub(crate) fn uuid_like() -> String {
    let h = unique_hex();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Now, in Unix seconds.
pub(crate) fn unix_now() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH);
    now.unwrap_or_default().as_secs() as i64
}

/// Now in Jakarta time (UTC+7, no DST), the zone Midtrans writes times in.
pub(crate) fn jakarta_now() -> String {
    jakarta(unix_now())
}

/// `2026-12-02 13:00:00` for Unix time `secs`.
pub(crate) fn jakarta(unix_secs: i64) -> String {
    let (year, month, day, rest) = civil_from_unix(unix_secs + 7 * 3600);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The Unix time of `2026-12-06 17:00:00 +0700` (Snap's `expiry.start_time`:
/// `yyyy-MM-dd HH:mm:ss Z`, a numeric offset); None unless exactly that
/// shape with a real date and time.
pub(crate) fn parse_offset_time(text: &str) -> Option<i64> {
    const SHAPE: &[u8] = b"dddd-dd-dd dd:dd:dd sdddd";
    let bytes = text.as_bytes();
    let shaped = bytes.len() == SHAPE.len()
        && bytes.iter().zip(SHAPE).all(|(&b, &s)| match s {
            b'd' => b.is_ascii_digit(),
            b's' => b == b'+' || b == b'-',
            _ => b == s,
        });
    if !shaped {
        return None;
    }
    let number = |at: usize, len: usize| -> i64 { text[at..at + len].parse().unwrap_or(-1) };
    let (year, month, day) = (number(0, 4), number(5, 2), number(8, 2));
    let (hour, minute, second) = (number(11, 2), number(14, 2), number(17, 2));
    let (offset_hours, offset_minutes) = (number(21, 2), number(23, 2));
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60
        && offset_hours <= 18
        && offset_minutes < 60;
    if !valid {
        return None;
    }
    let offset =
        (offset_hours * 3600 + offset_minutes * 60) * if bytes[20] == b'-' { -1 } else { 1 };
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(local - offset)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jakarta_time() {
        assert_eq!(jakarta(0), "1970-01-01 07:00:00");
        assert_eq!(jakarta(1_796_191_200), "2026-12-02 13:00:00");
        assert_eq!(jakarta(1_709_225_999), "2024-02-29 23:59:59");
    }

    #[test]
    fn offset_times() {
        // Expected values from coreutils' `date -u -d '…' +%s`.
        assert_eq!(
            parse_offset_time("2026-12-06 10:00:00 +0000"),
            Some(1_796_551_200)
        );
        assert_eq!(
            parse_offset_time("2026-12-06 10:00:00 +0700"),
            Some(1_796_526_000)
        );
        assert_eq!(
            parse_offset_time("2024-02-29 23:59:59 -0130"),
            Some(1_709_256_599)
        );
        assert_eq!(parse_offset_time("1970-01-01 07:00:00 +0700"), Some(0));
        let now = unix_now();
        let written = format!("{} +0700", jakarta(now));
        assert_eq!(parse_offset_time(&written), Some(now));
        for bad in [
            "",
            "2026-12-06 10:00:00",
            "2026-12-06T10:00:00 +0700",
            "2026-12-06 10:00:00 +07:00",
            "2026-12-06 10:00:00 0700",
            "2026-12-06 10:00:00 +0700 ",
            "2026-13-06 10:00:00 +0700",
            "2026-02-29 10:00:00 +0700",
            "2026-04-31 10:00:00 +0700",
            "2026-12-00 10:00:00 +0700",
            "2026-12-06 24:00:00 +0700",
            "2026-12-06 10:60:00 +0700",
            "2026-12-06 10:00:60 +0700",
            "2026-12-06 10:00:00 +1900",
            "2026-12-06 10:00:00 +0760",
            "２026-12-06 10:00:00 +0700",
        ] {
            assert_eq!(parse_offset_time(bad), None, "{bad}");
        }
    }
}
