//! Passwords: argon2id with OWASP's minimum parameters (19 MiB, 2 passes,
//! 1 lane), and the seed's bcrypt hashes (`$2a$`/`$2b$`/`$2y$`) still
//! verified so their owners can sign in — and then rehashed.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// OWASP Password Storage Cheat Sheet: m=19 MiB, t=2, p=1 at least.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const PASSES: u32 = 2;
pub const LANES: u32 = 1;

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("valid constant parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordError {
    /// The stored value is no hash this service knows.
    UnknownFormat,
    Hashing,
}

/// Hashes `password` with a caller-supplied random salt (16 bytes: the
/// caller owns the randomness source, WASI's inside a component).
pub fn hash(password: &str, salt: &[u8; 16]) -> Result<String, PasswordError> {
    let salt = SaltString::encode_b64(salt).map_err(|_| PasswordError::Hashing)?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Hashing)
}

/// The outcome of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    pub matches: bool,
    /// A correct password whose hash is not current argon2id at our
    /// parameters (bcrypt from the seed, weaker argon2): store a new hash.
    pub rehash: bool,
}

/// Compares `password` with `stored` (PHC argon2 or modular-crypt bcrypt).
/// Both libraries compare in constant time.
pub fn verify(password: &str, stored: &str) -> Result<Checked, PasswordError> {
    if ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|p| stored.starts_with(p))
    {
        let matches = bcrypt::verify(password, stored).map_err(|_| PasswordError::UnknownFormat)?;
        return Ok(Checked {
            matches,
            rehash: matches,
        });
    }
    let parsed = PasswordHash::new(stored)
        .ok()
        .filter(|p| p.hash.is_some() && p.algorithm.as_str().starts_with("argon2"))
        .ok_or(PasswordError::UnknownFormat)?;
    let matches = argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    let current = parsed.algorithm.as_str() == "argon2id"
        && Params::try_from(&parsed)
            .is_ok_and(|p| p.m_cost() >= MEMORY_KIB && p.t_cost() >= PASSES && p.p_cost() >= LANES);
    Ok(Checked {
        matches,
        rehash: matches && !current,
    })
}

/// What a login checks when the email is unknown, so that it costs what a
/// wrong password costs (no user enumeration by timing): a well-formed
/// argon2id hash at our parameters whose digest is random bytes, so no
/// password matches it.
pub const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$Y2JwYzVnZ0FOaFp0cjN2Vg$QT5lBnLlzYcFv8Q0V4CkYvXwM5yqpqYJx6iZn2uM2nA";

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: &[u8; 16] = b"0123456789abcdef";

    #[test]
    fn argon2id_round_trip_at_owasp_parameters() {
        let h = hash("correct horse battery", SALT).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(
            verify("correct horse battery", &h),
            Ok(Checked {
                matches: true,
                rehash: false
            })
        );
        assert!(!verify("correct horse batterY", &h).unwrap().matches);
    }

    #[test]
    fn seed_bcrypt_hashes_verify_and_ask_for_a_rehash() {
        let seed = bcrypt::hash_with_salt("secret123", 4, *SALT)
            .unwrap()
            .format_for_version(bcrypt::Version::TwoA);
        assert!(seed.starts_with("$2a$"));
        assert_eq!(
            verify("secret123", &seed),
            Ok(Checked {
                matches: true,
                rehash: true
            })
        );
        assert_eq!(
            verify("secret124", &seed),
            Ok(Checked {
                matches: false,
                rehash: false
            })
        );
    }

    #[test]
    fn weaker_argon2_asks_for_a_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw-pw-pw-pw", &SaltString::encode_b64(SALT).unwrap())
        .unwrap()
        .to_string();
        assert!(verify("pw-pw-pw-pw", &weak).unwrap().rehash);
    }

    #[test]
    fn the_decoy_is_a_current_hash_nobody_matches() {
        let checked = verify("", DECOY_HASH).unwrap();
        assert_eq!(
            checked,
            Checked {
                matches: false,
                rehash: false
            }
        );
        assert!(PasswordHash::new(DECOY_HASH).is_ok());
    }

    #[test]
    fn garbage_is_an_unknown_format() {
        for stored in ["", "plain", "$2a$garbage", "$argon2id$nope"] {
            assert_eq!(
                verify("x", stored),
                Err(PasswordError::UnknownFormat),
                "{stored}"
            );
        }
    }
}
