//! Refresh tokens: opaque random values (never JWTs, so one can never pass
//! as an access token), stored only as their SHA-256.
//!
//! Rotation is deterministic: the successor of a token is
//! HMAC-SHA256(key, token). Within the reuse interval the same old token
//! therefore yields the same successor again — two tabs refreshing at once
//! both get the token the family now holds — without the server ever
//! storing a token it could hand out.

use platform_core::text::hex;

use crate::{check_secret, AuthError};

/// Prefix of every refresh token: tells a support engineer (and a secret
/// scanner) what a leaked value is; it carries no meaning to the server.
const PREFIX: &str = "rt_";
/// 32 random bytes: 256 bits, as RFC 9700 asks of unguessable tokens.
pub const RANDOM_BYTES: usize = 32;

/// A new token from fresh randomness (the caller's: WASI's in a component).
pub fn new_token(random: &[u8; RANDOM_BYTES]) -> String {
    format!("{PREFIX}{}", hex(random))
}

/// Whether `token` has the shape of one of ours (a cheap refusal of
/// garbage, access tokens and oversized input before any hashing or SQL).
pub fn well_formed(token: &str) -> bool {
    token
        .strip_prefix(PREFIX)
        .is_some_and(|h| h.len() == RANDOM_BYTES * 2 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What the database keeps: hex SHA-256 of the token.
pub fn storage_hash(token: &str) -> String {
    hex(&hmac_sha256::Hash::hash(token.as_bytes()))
}

/// The token that replaces `token` on rotation. The key is derived from the
/// access-token secret, so one secret rotates both.
pub fn successor(secret: &[u8], token: &str) -> Result<String, AuthError> {
    check_secret(secret)?;
    let key = hmac_sha256::HMAC::mac(b"refresh-token-successor-v1", secret);
    Ok(format!(
        "{PREFIX}{}",
        hex(&hmac_sha256::HMAC::mac(token.as_bytes(), key))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn tokens_are_prefixed_hex_of_the_randomness() {
        let t = new_token(&[0xab; RANDOM_BYTES]);
        assert_eq!(t, format!("rt_{}", "ab".repeat(32)));
        assert!(well_formed(&t));
        for bad in ["", "rt_", "rt_xyz", "ab".repeat(32).as_str(), "eyJ.a.b"] {
            assert!(!well_formed(bad), "{bad}");
        }
        assert!(!well_formed(&format!("rt_{}", "g".repeat(64))));
    }

    #[test]
    fn successors_are_deterministic_per_secret_and_token() {
        let t = new_token(&[1; RANDOM_BYTES]);
        let a = successor(SECRET, &t).unwrap();
        assert_eq!(a, successor(SECRET, &t).unwrap());
        assert!(well_formed(&a));
        assert_ne!(a, t);
        assert_ne!(
            a,
            successor(SECRET, &new_token(&[2; RANDOM_BYTES])).unwrap()
        );
        let other = b"fedcba9876543210fedcba9876543210";
        assert_ne!(a, successor(other, &t).unwrap());
        assert_eq!(successor(b"short", &t), Err(AuthError::WeakSecret));
    }

    #[test]
    fn storage_hash_is_sha256_hex() {
        // SHA-256("abc"), FIPS 180-2 test vector.
        assert_eq!(
            storage_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
