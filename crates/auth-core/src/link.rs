//! Link tokens: the secrets in email-verification and password-reset links
//! (docs/decisions/0005, §1).
//!
//! A token is never random and never stored: it is derived from the
//! `account_tokens` row's id, so every send of the same mail carries the
//! same bytes (the provider's idempotency key then stops a second send, and
//! no mailed link is ever invalidated):
//!
//! ```text
//! K     = HMAC-SHA256(key = "account-link-v1", message = mail_link_secret)
//! token = base64url-no-pad(HMAC-SHA256(key = K, message = purpose ‖ ":" ‖ token_id))
//! ```
//!
//! Without `K` a token is indistinguishable from random; the database keeps
//! only [`storage_hash`], so a database leak cannot mint a link, and `K`
//! alone cannot either (it needs a row id). Only the mail worker holds the
//! secret. Rotating `mail_link_secret` ends link mails not yet delivered (their
//! stored hash no longer matches a fresh derivation); a link already mailed
//! is checked by its hash alone and works until used or expired.

use ct_codecs::{Base64UrlSafeNoPadding, Decoder, Encoder};

use crate::check_secret;

/// Label of the key derivation: a new version of the scheme changes it.
const KEY_LABEL: &[u8] = b"account-link-v1";
/// A token's bytes: 256 bits, as RFC 9700 asks of unguessable tokens.
const TOKEN_BYTES: usize = 32;
/// base64url without padding of 32 bytes.
pub const TOKEN_CHARS: usize = 43;

/// What a link may be used for; a token of one purpose never works for the
/// other (the purpose is in the derivation and in the row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    /// The `account_tokens.purpose` value, also the derivation's prefix.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
        }
    }

    /// The inverse of [`Purpose::as_str`]; anything else is `None`.
    pub fn parse(text: &str) -> Option<Purpose> {
        match text {
            "verify_email" => Some(Purpose::VerifyEmail),
            "reset_password" => Some(Purpose::ResetPassword),
            _ => None,
        }
    }
}

/// `K`, the key every link token is derived with: HMAC-SHA256 keyed with
/// the fixed label `"account-link-v1"` over the message `mail_link_secret`.
/// That is HKDF-Extract's orientation (RFC 5869: the salt is the HMAC key,
/// the input keying material the message), so a secret of any length
/// yields a uniform 32-byte key. Check the secret with [`secret_usable`]
/// first.
pub fn link_key(mail_link_secret: &[u8]) -> [u8; 32] {
    hmac_sha256::HMAC::mac(mail_link_secret, KEY_LABEL)
}

/// The token of the row `token_id` (its UUID, as Postgres prints it:
/// lower-case, hyphenated) for `purpose`: base64url without padding of
/// HMAC-SHA256(key = `key`, message = `purpose ‖ ":" ‖ token_id`), 43
/// characters. The same inputs always give the same token.
pub fn derive(key: &[u8; 32], purpose: Purpose, token_id: &str) -> String {
    let mut mac = hmac_sha256::HMAC::new(key);
    mac.update(purpose.as_str());
    mac.update(":");
    mac.update(token_id);
    Base64UrlSafeNoPadding::encode_to_string(mac.finalize()).unwrap_or_default()
}

/// Whether `token` has the shape of one of ours: exactly 43 base64url
/// characters that decode to 32 bytes, in the one canonical spelling (the
/// last character carries 2 unused bits, which must be zero). A cheap
/// refusal of garbage and oversized input before any hashing or SQL.
pub fn well_formed(token: &str) -> bool {
    if token.len() != TOKEN_CHARS {
        return false;
    }
    let mut bytes = [0u8; TOKEN_BYTES];
    // The decoder refuses characters outside the URL-safe alphabet
    // (`+`, `/`, `=`, …) and non-zero trailing bits.
    Base64UrlSafeNoPadding::decode(&mut bytes, token, None).is_ok_and(|b| b.len() == TOKEN_BYTES)
}

/// What the database keeps (`account_tokens.token_hash`): hex SHA-256 of
/// the token, exactly as for refresh tokens.
pub fn storage_hash(token: &str) -> String {
    crate::refresh::storage_hash(token)
}

/// Whether `mail_link_secret` may derive links: the rule `jwt_secret` is
/// held to ([`check_secret`]: at least 32 bytes, no placeholder, not one
/// repeated byte). When it is not, link mails wait (they are retried, never
/// sent with a guessable token).
pub fn secret_usable(secret: &str) -> bool {
    check_secret(secret.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const ID: &str = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";

    fn key() -> [u8; 32] {
        link_key(SECRET.as_bytes())
    }

    #[test]
    fn known_answers() {
        // Computed independently with Python's hmac/hashlib/base64:
        // K = hmac.new(b"account-link-v1", secret, sha256).digest()
        // token = urlsafe_b64encode(hmac.new(K, f"{purpose}:{id}".encode(), sha256).digest()).rstrip(b"=")
        assert_eq!(
            platform_core::text::hex(&key()),
            "dd8801e6f94f702c7c5c73e2b3cb3ec2b14fa9307f84f3d37669b724527b8bdc"
        );
        let verify = derive(&key(), Purpose::VerifyEmail, ID);
        assert_eq!(verify, "p1cZQQw81drA3bov3eZcKaaUhgo1o4p3puwc-PlGacE");
        assert_eq!(
            storage_hash(&verify),
            "23a90dca1b8ee1fe31353a59e730d1ac30c51ec23aaa02f3825a8e4f9d204156"
        );
        assert_eq!(
            derive(&key(), Purpose::ResetPassword, ID),
            "3JJebviQcrHxZnvBIGfq_Fc6ainvAu7ReAEEJjVxq84"
        );
    }

    #[test]
    fn derivation_is_deterministic_and_separates_its_inputs() {
        let a = derive(&key(), Purpose::VerifyEmail, ID);
        assert_eq!(a, derive(&key(), Purpose::VerifyEmail, ID));
        assert_eq!(a.len(), TOKEN_CHARS);
        assert!(well_formed(&a));
        assert_ne!(a, derive(&key(), Purpose::ResetPassword, ID));
        assert_ne!(
            a,
            derive(
                &key(),
                Purpose::VerifyEmail,
                "3f2504e0-4f89-11d3-9a0c-0305e82c3302"
            )
        );
        let other = link_key(b"fedcba9876543210fedcba9876543210");
        assert_ne!(other, key());
        assert_ne!(a, derive(&other, Purpose::VerifyEmail, ID));
    }

    #[test]
    fn many_tokens_are_well_formed() {
        for i in 0..200 {
            let t = derive(&key(), Purpose::ResetPassword, &format!("id-{i}"));
            assert_eq!(t.len(), TOKEN_CHARS);
            assert!(well_formed(&t), "{t}");
        }
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let good = derive(&key(), Purpose::VerifyEmail, ID);
        assert!(well_formed(&good));
        let short = &good[..42];
        let long = format!("{good}A");
        let padded = format!("{good}=");
        assert!(!well_formed(""));
        assert!(!well_formed(short));
        assert!(!well_formed(&long));
        assert!(!well_formed(&padded));
        for bad in ['+', '/', '=', ' ', '.', 'é'] {
            let mut t = good.clone();
            t.replace_range(10..11, &bad.to_string());
            if bad.len_utf8() > 1 {
                t.pop();
            }
            assert!(!well_formed(&t), "{t}");
        }
        // A refresh token or a JWT is not a link token.
        assert!(!well_formed(&format!("rt_{}", "ab".repeat(32))));
        assert!(!well_formed("eyJhbGciOiJIUzI1NiJ9.e30.abc"));
    }

    #[test]
    fn non_canonical_last_character_is_refused() {
        // The last character holds 2 unused bits: only A, E, I, … (index a
        // multiple of 4) are canonical; the others decode to the same bytes.
        let good = derive(&key(), Purpose::VerifyEmail, ID);
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let last = good.as_bytes()[TOKEN_CHARS - 1];
        let index = ALPHABET.iter().position(|&c| c == last).unwrap();
        assert_eq!(index % 4, 0);
        for flip in 1..4 {
            let mut t = good[..TOKEN_CHARS - 1].to_string();
            t.push(char::from(ALPHABET[index + flip]));
            assert!(!well_formed(&t), "{t}");
        }
        // The all-zero token: canonical "A…A", not "A…B".
        assert!(well_formed(&"A".repeat(TOKEN_CHARS)));
        assert!(!well_formed(&format!("{}B", "A".repeat(TOKEN_CHARS - 1))));
    }

    #[test]
    fn purposes_round_trip() {
        for p in [Purpose::VerifyEmail, Purpose::ResetPassword] {
            assert_eq!(Purpose::parse(p.as_str()), Some(p));
        }
        assert_eq!(Purpose::VerifyEmail.as_str(), "verify_email");
        assert_eq!(Purpose::ResetPassword.as_str(), "reset_password");
        for bad in ["", "verify", "VERIFY_EMAIL", "reset_password "] {
            assert_eq!(Purpose::parse(bad), None);
        }
    }

    #[test]
    fn storage_hash_is_the_refresh_tokens_sha256_hex() {
        let t = derive(&key(), Purpose::VerifyEmail, ID);
        assert_eq!(storage_hash(&t), crate::refresh::storage_hash(&t));
        assert_eq!(storage_hash(&t).len(), 64);
        assert_ne!(storage_hash(&t), t);
    }

    #[test]
    fn secrets_follow_the_jwt_secret_rule() {
        assert!(secret_usable(SECRET));
        for bad in [
            "",
            "short",
            "0123456789abcdef0123456789abcde",
            "CHANGE-ME-to-at-least-32-random-bytes",
            &"x".repeat(64),
        ] {
            assert!(!secret_usable(bad), "{bad}");
        }
    }
}
