//! Account fields as a client sends them, and the only way to checked ones
//! (the rules the README states for registration).

use serde::Deserialize;

use crate::{text, ServiceError};

pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_FULL_NAME_CHARS: usize = 200;
/// NIST SP 800-63B: at least 8; long passphrases allowed.
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Trimmed, lower-cased, `local@domain.tld`, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

/// 1 to 200 characters, trimmed, no NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullName(String);

/// 8 to 128 characters, kept exactly as typed (never trimmed), no NUL.
/// Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Email {
    pub fn parse(value: String) -> Result<Email, ServiceError> {
        // Lengths in characters, checked before lower-casing (which can
        // change them): the document's `Email` pattern says exactly this.
        let email = text::field("email", value, true, true, MAX_EMAIL_CHARS)?;
        let invalid = || ServiceError::invalid("email must be an address like name@example.com");
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let plain =
            |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        let domain_ok = plain(domain)
            && !domain.contains('@')
            && domain
                .split('.')
                .all(|label| !label.is_empty() && label.chars().count() <= 63)
            && domain.contains('.');
        if !plain(local) || local.chars().count() > 64 || !domain_ok {
            return Err(invalid());
        }
        let email = email.to_lowercase();
        // 'İ' lower-cases to two characters: the stored address keeps the bound.
        if email.chars().count() > MAX_EMAIL_CHARS {
            return Err(invalid());
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FullName {
    pub fn parse(value: String) -> Result<FullName, ServiceError> {
        text::field("full_name", value, true, true, MAX_FULL_NAME_CHARS).map(FullName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Password {
    pub fn parse(value: String) -> Result<Password, ServiceError> {
        let chars = value.chars().count();
        if value.contains('\0') || !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
            return Err(ServiceError::invalid(format!(
                "password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
            )));
        }
        Ok(Password(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// The body of `POST /register` as sent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrationFields {
    full_name: String,
    email: String,
    password: String,
}

/// A registration with every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub full_name: FullName,
    pub email: Email,
    pub password: Password,
}

impl Registration {
    pub fn from_json(body: &[u8]) -> Result<Registration, ServiceError> {
        // serde's message could echo the password; say which shape failed only.
        let f: RegistrationFields = serde_json::from_slice(body).map_err(|_| {
            ServiceError::invalid(
                "body must be {\"full_name\": string, \"email\": string, \"password\": string}",
            )
        })?;
        Ok(Registration {
            full_name: FullName::parse(f.full_name)?,
            email: Email::parse(f.email)?,
            password: Password::parse(f.password)?,
        })
    }
}

/// The sign-in providers (`/oauth/{provider}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OAuthProvider {
    Google,
    Github,
    Facebook,
}

impl OAuthProvider {
    /// A path segment; an unknown provider is a 404, like an unknown path.
    pub fn parse(name: &str) -> Result<OAuthProvider, ServiceError> {
        match name {
            "google" => Ok(OAuthProvider::Google),
            "github" => Ok(OAuthProvider::Github),
            "facebook" => Ok(OAuthProvider::Facebook),
            _ => Err(ServiceError::not_found("Unknown sign-in provider")),
        }
    }

    /// The path segment and the variables' prefix (`github_client_id`).
    pub fn name(self) -> &'static str {
        match self {
            OAuthProvider::Google => "google",
            OAuthProvider::Github => "github",
            OAuthProvider::Facebook => "facebook",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            OAuthProvider::Google => "Google",
            OAuthProvider::Github => "GitHub",
            OAuthProvider::Facebook => "Facebook",
        }
    }
}

/// Longest password a login will hash: generous for old seed accounts, and
/// bounded so a body cannot buy unbounded work.
pub const MAX_LOGIN_PASSWORD_CHARS: usize = 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialFields {
    email: String,
    password: String,
}

/// The body of `POST /login`. The password is not held to the registration
/// rules (accounts from the seed predate them), only bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub email: Email,
    pub password: Password,
}

impl Credentials {
    pub fn from_json(body: &[u8]) -> Result<Credentials, ServiceError> {
        let f: CredentialFields = serde_json::from_slice(body).map_err(|_| {
            ServiceError::invalid("body must be {\"email\": string, \"password\": string}")
        })?;
        Credentials::parse(f.email, f.password)
    }

    pub fn parse(email: String, password: String) -> Result<Credentials, ServiceError> {
        let email = Email::parse(email)?;
        let chars = password.chars().count();
        if chars == 0 || chars > MAX_LOGIN_PASSWORD_CHARS || password.contains('\0') {
            return Err(ServiceError::invalid(format!(
                "password must be 1 to {MAX_LOGIN_PASSWORD_CHARS} characters"
            )));
        }
        Ok(Credentials {
            email,
            password: Password(password),
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshFields {
    refresh_token: String,
}

/// The refresh token of a `POST /refresh` or `POST /logout` body.
pub fn refresh_token_from_json(body: &[u8]) -> Result<String, ServiceError> {
    serde_json::from_slice::<RefreshFields>(body)
        .map(|f| f.refresh_token)
        .map_err(|_| ServiceError::invalid("body must be {\"refresh_token\": string}"))
}

/// The `admin_emails` variable: comma-separated addresses that are given
/// the admin role at registration and at every sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdminEmails(Vec<String>);

impl AdminEmails {
    /// Entries that are not addresses are ignored (and cannot match).
    pub fn parse(setting: &str) -> AdminEmails {
        AdminEmails(
            setting
                .split(',')
                .filter_map(|e| Email::parse(e.to_string()).ok())
                .map(|e| e.0)
                .collect(),
        )
    }

    pub fn contains(&self, email: &Email) -> bool {
        self.0.contains(&email.0)
    }

    /// The addresses comma-separated (each already normalised and free of
    /// commas), for SQL's `string_to_array`.
    pub fn joined(&self) -> String {
        self.0.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lower_cased_and_checked() {
        assert_eq!(
            Email::parse("  Budi@Example.CO.id ".into())
                .unwrap()
                .as_str(),
            "budi@example.co.id"
        );
        for bad in [
            "",
            "budi",
            "@example.com",
            "budi@",
            "budi@example",
            "a b@example.com",
            "budi@@example.com",
            "budi@exa mple.com",
            "budi@example..com",
            "x\u{0}@a.io",
        ] {
            assert!(Email::parse(bad.into()).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(Email::parse(long).is_err());
    }

    #[test]
    fn email_lengths_are_characters_as_sent() {
        // As the document's Email pattern counts them: 64 characters of
        // local part even when each is two bytes, 254 as sent (spaces too).
        assert!(Email::parse(format!("{}@example.com", "é".repeat(64))).is_ok());
        assert!(Email::parse(format!("{}@example.com", "é".repeat(65))).is_err());
        let label = "d".repeat(63);
        let at_limit = format!("{}@{label}.{label}.{}.io", "a".repeat(60), "e".repeat(62));
        assert_eq!(at_limit.chars().count(), 254);
        assert!(Email::parse(at_limit.clone()).is_ok());
        assert!(Email::parse(format!(" {at_limit}")).is_err(), "255 as sent");
        // Lower-casing 'İ' makes two characters; the stored address stays
        // within 254 (a 400, never the database's CHECK).
        let grows = format!("{}@{label}.{label}.{}.io", "İ".repeat(60), "e".repeat(62));
        assert!(Email::parse(grows).is_err());
    }

    #[test]
    fn passwords_are_bounded_kept_as_typed_and_never_shown() {
        let p = Password::parse(" spaced out ".into()).unwrap();
        assert_eq!(p.expose(), " spaced out ");
        assert!(!format!("{p:?}").contains("spaced"));
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("x".repeat(129)).is_err());
        assert!(Password::parse("long enough\u{0}".into()).is_err());
        assert!(
            Password::parse("ééééééééé".into()).is_ok(),
            "counted in characters"
        );
    }

    #[test]
    fn login_bodies() {
        let c = Credentials::from_json(br#"{"email":" A@B.io ","password":"x"}"#).unwrap();
        assert_eq!(c.email.as_str(), "a@b.io");
        assert_eq!(c.password.expose(), "x");
        for bad in [
            r#"{"email":"a@b.io","password":""}"#,
            r#"{"email":"a@b.io"}"#,
            r#"{"email":"a@b.io","password":7}"#,
            r#"{"email":"nope","password":"x"}"#,
            r#"{"email":"a@b.io","password":"x","role":"admin"}"#,
        ] {
            assert!(Credentials::from_json(bad.as_bytes()).is_err(), "{bad}");
        }
        let huge = format!(r#"{{"email":"a@b.io","password":"{}"}}"#, "p".repeat(1025));
        assert!(Credentials::from_json(huge.as_bytes()).is_err());
    }

    #[test]
    fn refresh_bodies() {
        assert_eq!(
            refresh_token_from_json(br#"{"refresh_token":"rt_1"}"#).unwrap(),
            "rt_1"
        );
        assert!(refresh_token_from_json(br#"{"token":"rt_1"}"#).is_err());
        assert!(refresh_token_from_json(b"rt_1").is_err());
    }

    #[test]
    fn admin_emails_are_normalised() {
        let admins = AdminEmails::parse(" Boss@Shop.io , ,not-an-email, ops@shop.io");
        let email = |s: &str| Email::parse(s.to_string()).unwrap();
        assert!(admins.contains(&email("boss@shop.io")));
        assert!(admins.contains(&email("OPS@shop.io")));
        assert!(!admins.contains(&email("customer@shop.io")));
        assert!(!AdminEmails::parse("").contains(&email("boss@shop.io")));
    }

    #[test]
    fn registration_bodies() {
        let r = Registration::from_json(
            br#"{"full_name":" Budi ","email":"BUDI@example.com","password":"hunter2hunter2"}"#,
        )
        .unwrap();
        assert_eq!(r.full_name.as_str(), "Budi");
        assert_eq!(r.email.as_str(), "budi@example.com");
        for bad in [
            r#"{"full_name":"B","email":"b@example.com"}"#,
            r#"{"full_name":"B","email":"b@example.com","password":12345678}"#,
            r#"{"full_name":"","email":"b@example.com","password":"hunter2hunter2"}"#,
            r#"{"full_name":"B","email":"b@example.com","password":"hunter2hunter2","role":"admin"}"#,
            "[]",
        ] {
            let err = Registration::from_json(bad.as_bytes()).unwrap_err();
            assert!(!format!("{err:?}").contains("hunter2"), "{bad}");
        }
    }
}
