//! Strong entity tags: a content hash, and `If-None-Match` comparison.

use sha2::{Digest, Sha256};

/// `"<first 16 bytes of SHA-256, hex>"`: strong, and equal only for equal bytes.
pub fn etag_of(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether an `If-None-Match` value names `etag`. RFC 9110 §13.1.2: `*`
/// matches anything, and the comparison is weak (`W/"x"` matches `"x"`).
pub fn matches_any(if_none_match: &str, etag: &str) -> bool {
    if_none_match.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}
