//! Unique ids and timestamps, written the way Midtrans writes them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use platform_core::text::hex;

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

/// Now in Jakarta time (UTC+7, no DST), the zone Midtrans writes times in.
pub(crate) fn jakarta_now() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH);
    jakarta(now.unwrap_or_default().as_secs() as i64)
}

/// `2026-12-02 13:00:00` for Unix time `secs`.
fn jakarta(unix_secs: i64) -> String {
    let secs = unix_secs + 7 * 3600;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn jakarta_time() {
        assert_eq!(super::jakarta(0), "1970-01-01 07:00:00");
        assert_eq!(super::jakarta(1_796_191_200), "2026-12-02 13:00:00");
        assert_eq!(super::jakarta(1_709_225_999), "2024-02-29 23:59:59");
    }
}
