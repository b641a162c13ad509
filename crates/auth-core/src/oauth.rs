//! OAuth 2.0 sign-in with Google, GitHub and Facebook: authorization code
//! with PKCE S256, a single-use `state`, and for Google (OpenID Connect) a
//! nonce. Everything here is pure: the component does the I/O (Redis for
//! the pending sign-in, Spin outbound HTTP for the provider).

use ct_codecs::{Base64UrlSafeNoPadding, Decoder, Encoder};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use platform_core::account::OAuthProvider as Provider;

/// Facebook's Graph API version the endpoints are pinned to.
const FACEBOOK_VERSION: &str = "v19.0";

fn scope(p: Provider) -> &'static str {
    match p {
        Provider::Google => "openid email profile",
        Provider::Github => "read:user user:email",
        Provider::Facebook => "email public_profile",
    }
}

/// One provider's settings (Spin variables). Base URLs have no trailing
/// path: they double as `allowed_outbound_hosts` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub client_id: String,
    pub client_secret: String,
    /// Where the browser signs in (and, for Google, the id token's issuer).
    pub auth_base: String,
    /// Where the server exchanges codes and reads the user.
    pub api_base: String,
    /// The platform's public base URL; the callback is under it.
    pub redirect_base: String,
}

fn base(url: &str) -> &str {
    url.trim().trim_end_matches('/')
}

impl ProviderConfig {
    pub fn is_configured(&self) -> bool {
        !self.client_id.trim().is_empty() && !self.client_secret.trim().is_empty()
    }

    pub fn redirect_uri(&self, p: Provider) -> String {
        format!("{}/oauth/{}/callback", base(&self.redirect_base), p.name())
    }
}

/// URL-safe base64 of random bytes: states, nonces, PKCE verifiers.
pub fn random_text(random: &[u8; 32]) -> String {
    Base64UrlSafeNoPadding::encode_to_string(random).unwrap_or_default()
}

/// RFC 7636: `code_challenge = BASE64URL(SHA256(code_verifier))`.
pub fn pkce_challenge(verifier: &str) -> String {
    Base64UrlSafeNoPadding::encode_to_string(hmac_sha256::Hash::hash(verifier.as_bytes()))
        .unwrap_or_default()
}

/// What is kept (in Redis, 10 minutes, keyed by `state`) between sending
/// the browser to the provider and its return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub provider: Provider,
    pub verifier: String,
    pub nonce: Option<String>,
}

fn query(pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

/// The URL the browser is sent to.
pub fn authorize_url(p: Provider, cfg: &ProviderConfig, state: &str, pending: &Pending) -> String {
    let path = match p {
        Provider::Google => "/o/oauth2/v2/auth".to_string(),
        Provider::Github => "/login/oauth/authorize".to_string(),
        Provider::Facebook => format!("/{FACEBOOK_VERSION}/dialog/oauth"),
    };
    let redirect = cfg.redirect_uri(p);
    let challenge = pkce_challenge(&pending.verifier);
    let mut pairs = vec![
        ("client_id", cfg.client_id.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("response_type", "code"),
        ("scope", scope(p)),
        ("state", state),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if let Some(nonce) = &pending.nonce {
        pairs.push(("nonce", nonce));
    }
    format!("{}{path}?{}", base(&cfg.auth_base), query(&pairs))
}

/// An HTTP call for the component to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub post: bool,
    pub url: String,
    /// `application/x-www-form-urlencoded` body of a POST.
    pub form: Option<String>,
    /// `Authorization: Bearer` value, when the call needs one.
    pub bearer: Option<String>,
}

/// The code exchange (RFC 6749 §4.1.3 with RFC 7636's `code_verifier`).
/// Facebook documents it as a GET with the parameters in the query.
pub fn token_call(p: Provider, cfg: &ProviderConfig, code: &str, verifier: &str) -> Call {
    let redirect = cfg.redirect_uri(p);
    let params = query(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &redirect),
        ("client_id", &cfg.client_id),
        ("client_secret", &cfg.client_secret),
        ("code_verifier", verifier),
    ]);
    match p {
        Provider::Google => Call {
            post: true,
            url: format!("{}/token", base(&cfg.api_base)),
            form: Some(params),
            bearer: None,
        },
        Provider::Github => Call {
            post: true,
            url: format!("{}/login/oauth/access_token", base(&cfg.auth_base)),
            form: Some(params),
            bearer: None,
        },
        Provider::Facebook => Call {
            post: false,
            url: format!(
                "{}/{FACEBOOK_VERSION}/oauth/access_token?{params}",
                base(&cfg.api_base)
            ),
            form: None,
            bearer: None,
        },
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthError {
    /// The provider refused the code (reused, expired, wrong verifier…).
    Refused(String),
    /// The provider answered something this code cannot use.
    Malformed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access_token: String,
    pub id_token: Option<String>,
}

/// The token endpoint's JSON answer (an `error` member is a refusal).
pub fn parse_tokens(status: u16, body: &[u8]) -> Result<Tokens, OAuthError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| {
        OAuthError::Malformed(format!("token endpoint answered {status}, not JSON"))
    })?;
    if let Some(e) = v.get("error") {
        let code = e
            .as_str()
            .or_else(|| e.get("message").and_then(Value::as_str))
            .unwrap_or("error");
        return Err(OAuthError::Refused(code.chars().take(100).collect()));
    }
    if !(200..300).contains(&status) {
        return Err(OAuthError::Refused(format!("status {status}")));
    }
    let access_token = v["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::Malformed("no access_token".into()))?
        .to_string();
    Ok(Tokens {
        access_token,
        id_token: v["id_token"].as_str().map(str::to_string),
    })
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's stable user id (`sub`, GitHub's numeric id, Facebook's id).
    pub subject: String,
    /// Lower-cased; `None` when the provider gave none.
    pub email: Option<String>,
    /// Only a verified email may link to an existing account.
    pub email_verified: bool,
    pub name: String,
}

fn clean_name(name: Option<&str>, fallback: &str) -> String {
    let name: String = name
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let name = name.trim();
    if name.is_empty() {
        fallback.to_string()
    } else {
        name.to_string()
    }
}

fn email(value: Option<&str>) -> Option<String> {
    value
        .map(|e| e.trim().to_lowercase())
        .filter(|e| e.contains('@') && e.len() <= 254 && !e.contains('\0'))
}

/// Google's id token, received straight from its token endpoint over TLS:
/// OpenID Connect Core §3.1.3.7 lets the client skip the signature then,
/// but the issuer, audience, expiry and nonce are still checked.
pub fn google_identity(
    id_token: &str,
    cfg: &ProviderConfig,
    nonce: Option<&str>,
    now_secs: u64,
) -> Result<Identity, OAuthError> {
    let bad = |why: &str| OAuthError::Malformed(format!("id token: {why}"));
    let payload = id_token.split('.').nth(1).ok_or_else(|| bad("not a JWT"))?;
    let bytes = ct_codecs::Base64UrlSafeNoPadding::decode_to_vec(payload, None)
        .map_err(|_| bad("payload is not base64url"))?;
    let claims: Value = serde_json::from_slice(&bytes).map_err(|_| bad("payload is not JSON"))?;
    let issuer = base(&cfg.auth_base);
    let iss = claims["iss"].as_str().unwrap_or("");
    if iss != issuer && Some(iss) != issuer.strip_prefix("https://") {
        return Err(bad("issuer"));
    }
    let aud_ok = match &claims["aud"] {
        Value::String(a) => *a == cfg.client_id,
        Value::Array(all) => all.iter().any(|a| a.as_str() == Some(&cfg.client_id)),
        _ => false,
    };
    if !aud_ok {
        return Err(bad("audience"));
    }
    if claims["exp"].as_u64().is_none_or(|exp| exp + 30 < now_secs) {
        return Err(bad("expired"));
    }
    if claims["nonce"].as_str() != nonce {
        return Err(bad("nonce"));
    }
    let subject = claims["sub"]
        .as_str()
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .ok_or_else(|| bad("no subject"))?;
    let verified = match &claims["email_verified"] {
        Value::Bool(b) => *b,
        Value::String(s) => s == "true",
        _ => false,
    };
    Ok(Identity {
        subject: subject.to_string(),
        email: email(claims["email"].as_str()),
        email_verified: verified,
        name: clean_name(claims["name"].as_str(), "Google user"),
    })
}

/// The calls that read a GitHub user: `/user`, then `/user/emails` (the
/// profile's public email may be absent or unverified).
pub fn github_calls(cfg: &ProviderConfig, access_token: &str) -> [Call; 2] {
    let call = |path: &str| Call {
        post: false,
        url: format!("{}{path}", base(&cfg.api_base)),
        form: None,
        bearer: Some(access_token.to_string()),
    };
    [call("/user"), call("/user/emails")]
}

/// GitHub's `/user` and (if readable) `/user/emails`: the primary address,
/// verified as GitHub says; without the list, the public profile address,
/// unverified.
pub fn github_identity(user: &[u8], emails: Option<&[u8]>) -> Result<Identity, OAuthError> {
    let v: Value = serde_json::from_slice(user)
        .map_err(|_| OAuthError::Malformed("GitHub user is not JSON".into()))?;
    let subject = v["id"]
        .as_u64()
        .ok_or_else(|| OAuthError::Malformed("GitHub user without id".into()))?;
    let listed: Vec<Value> = emails
        .and_then(|e| serde_json::from_slice(e).ok())
        .unwrap_or_default();
    let primary = listed.iter().find(|e| e["primary"].as_bool() == Some(true));
    let (address, verified) = match primary {
        Some(e) => (
            email(e["email"].as_str()),
            e["verified"].as_bool() == Some(true),
        ),
        None => (email(v["email"].as_str()), false),
    };
    let name = v["name"].as_str().or(v["login"].as_str());
    Ok(Identity {
        subject: subject.to_string(),
        email: address,
        email_verified: verified,
        name: clean_name(name, "GitHub user"),
    })
}

pub fn facebook_call(cfg: &ProviderConfig, access_token: &str) -> Call {
    Call {
        post: false,
        url: format!(
            "{}/{FACEBOOK_VERSION}/me?fields=id,name,email",
            base(&cfg.api_base)
        ),
        form: None,
        bearer: Some(access_token.to_string()),
    }
}

/// Facebook's `/me`. Facebook says nothing of verification, so its email
/// never links to an existing account.
pub fn facebook_identity(me: &[u8]) -> Result<Identity, OAuthError> {
    let v: Value = serde_json::from_slice(me)
        .map_err(|_| OAuthError::Malformed("Facebook user is not JSON".into()))?;
    let subject = v["id"]
        .as_str()
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .ok_or_else(|| OAuthError::Malformed("Facebook user without id".into()))?;
    Ok(Identity {
        subject: subject.to_string(),
        email: email(v["email"].as_str()),
        email_verified: false,
        name: clean_name(v["name"].as_str(), "Facebook user"),
    })
}

/// `code` and `state` of the callback's query, or the provider's `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    Code { code: String, state: String },
    Denied { state: Option<String> },
}

pub fn parse_callback(query: &str) -> Option<Callback> {
    let mut code = None;
    let mut state = None;
    let mut error = false;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "code" => code = Some(v.into_owned()),
            "state" => state = Some(v.into_owned()),
            "error" => error = true,
            _ => {}
        }
    }
    // Characters, as the OpenAPI document's maxLength counts them.
    let bounded = |s: &String| !s.is_empty() && s.chars().count() <= 2048;
    if error {
        return Some(Callback::Denied { state });
    }
    match (code, state) {
        (Some(code), Some(state)) if bounded(&code) && bounded(&state) => {
            Some(Callback::Code { code, state })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ProviderConfig {
        ProviderConfig {
            client_id: "client-1".into(),
            client_secret: "secret-1".into(),
            auth_base: "https://accounts.google.com/".into(),
            api_base: "https://oauth2.googleapis.com".into(),
            redirect_base: "http://127.0.0.1:3000".into(),
        }
    }

    fn params(url: &str) -> std::collections::HashMap<String, String> {
        let q = url.split_once('?').unwrap().1;
        form_urlencoded::parse(q.as_bytes()).into_owned().collect()
    }

    #[test]
    fn pkce_challenge_is_base64url_sha256_unpadded() {
        // Computed independently: Python's hashlib + urlsafe_b64encode.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mJ92IZrnDXalXcnYsldz2mi4Bqdgv0"),
            "Y3Z33BpHjONea2fMTBy4EAYbgQq-_wtwPjl952trWIA"
        );
        assert_eq!(random_text(&[0; 32]).len(), 43);
    }

    #[test]
    fn authorize_urls_carry_state_pkce_and_nonce() {
        let pending = Pending {
            provider: Provider::Google,
            verifier: "v".repeat(43),
            nonce: Some("n-1".into()),
        };
        let url = authorize_url(Provider::Google, &cfg(), "s-1", &pending);
        assert!(
            url.starts_with("https://accounts.google.com/o/oauth2/v2/auth?"),
            "{url}"
        );
        let p = params(&url);
        assert_eq!(p["state"], "s-1");
        assert_eq!(p["nonce"], "n-1");
        assert_eq!(p["code_challenge_method"], "S256");
        assert_eq!(p["code_challenge"], pkce_challenge(&"v".repeat(43)));
        assert_eq!(
            p["redirect_uri"],
            "http://127.0.0.1:3000/oauth/google/callback"
        );
        assert_eq!(p["client_id"], "client-1");
        let gh = authorize_url(
            Provider::Github,
            &ProviderConfig {
                auth_base: "https://github.com".into(),
                ..cfg()
            },
            "s",
            &Pending {
                provider: Provider::Github,
                verifier: "w".into(),
                nonce: None,
            },
        );
        assert!(gh.starts_with("https://github.com/login/oauth/authorize?"));
        assert!(!params(&gh).contains_key("nonce"));
    }

    #[test]
    fn code_exchanges_per_provider() {
        let c = token_call(Provider::Google, &cfg(), "c 1", "ver");
        assert!(c.post);
        assert_eq!(c.url, "https://oauth2.googleapis.com/token");
        let form: std::collections::HashMap<String, String> =
            form_urlencoded::parse(c.form.unwrap().as_bytes())
                .into_owned()
                .collect();
        assert_eq!(form["code"], "c 1");
        assert_eq!(form["code_verifier"], "ver");
        assert_eq!(form["client_secret"], "secret-1");
        let f = token_call(Provider::Facebook, &cfg(), "c", "ver");
        assert!(!f.post && f.form.is_none());
        assert!(f.url.contains("/v19.0/oauth/access_token?"));
        assert_eq!(params(&f.url)["code_verifier"], "ver");
    }

    #[test]
    fn token_answers() {
        let ok = parse_tokens(200, br#"{"access_token":"at","id_token":"x.y.z"}"#).unwrap();
        assert_eq!(ok.id_token.as_deref(), Some("x.y.z"));
        assert_eq!(
            parse_tokens(400, br#"{"error":"invalid_grant"}"#),
            Err(OAuthError::Refused("invalid_grant".into()))
        );
        // GitHub answers refusals with 200.
        assert!(matches!(
            parse_tokens(200, br#"{"error":"bad_verification_code"}"#),
            Err(OAuthError::Refused(_))
        ));
        assert!(matches!(
            parse_tokens(502, b"<html>"),
            Err(OAuthError::Malformed(_))
        ));
    }

    fn id_token(claims: Value) -> String {
        let enc = |v: &[u8]| Base64UrlSafeNoPadding::encode_to_string(v).unwrap();
        format!(
            "{}.{}.sig",
            enc(br#"{"alg":"RS256"}"#),
            enc(claims.to_string().as_bytes())
        )
    }

    #[test]
    fn google_id_tokens_are_checked() {
        let good = serde_json::json!({
            "iss": "https://accounts.google.com", "aud": "client-1", "exp": 2000,
            "nonce": "n", "sub": "g-1", "email": "A@Gmail.com", "email_verified": true,
            "name": "Ana"
        });
        let id = google_identity(&id_token(good.clone()), &cfg(), Some("n"), 1000).unwrap();
        assert_eq!(id.subject, "g-1");
        assert_eq!(id.email.as_deref(), Some("a@gmail.com"));
        assert!(id.email_verified);
        for (field, value) in [
            ("iss", serde_json::json!("https://evil.example")),
            ("aud", serde_json::json!("another-client")),
            ("exp", serde_json::json!(10)),
            ("nonce", serde_json::json!("other")),
            ("sub", serde_json::json!("")),
        ] {
            let mut claims = good.clone();
            claims[field] = value;
            assert!(
                google_identity(&id_token(claims), &cfg(), Some("n"), 1000).is_err(),
                "{field}"
            );
        }
        assert!(google_identity("garbage", &cfg(), Some("n"), 1000).is_err());
    }

    #[test]
    fn github_prefers_the_primary_verified_email() {
        let user = br#"{"id": 42, "login": "octo", "name": null, "email": "public@x.io"}"#;
        let emails = br#"[{"email":"old@x.io","primary":false,"verified":true},
                          {"email":"Main@X.io","primary":true,"verified":true}]"#;
        let id = github_identity(user, Some(emails)).unwrap();
        assert_eq!(
            (
                id.subject.as_str(),
                id.email.as_deref(),
                id.email_verified,
                id.name.as_str()
            ),
            ("42", Some("main@x.io"), true, "octo")
        );
        let unverified = github_identity(user, None).unwrap();
        assert_eq!(unverified.email.as_deref(), Some("public@x.io"));
        assert!(!unverified.email_verified);
        let unconfirmed = br#"[{"email":"new@x.io","primary":true,"verified":false}]"#;
        let id = github_identity(user, Some(unconfirmed)).unwrap();
        assert_eq!(
            (id.email.as_deref(), id.email_verified),
            (Some("new@x.io"), false)
        );
        let none = github_identity(br#"{"id": 7, "login": "ghost"}"#, Some(b"[]")).unwrap();
        assert_eq!(none.email, None);
    }

    #[test]
    fn facebook_emails_are_never_verified() {
        let id = facebook_identity(br#"{"id":"fb-1","name":"Fay","email":"f@x.io"}"#).unwrap();
        assert_eq!(id.email.as_deref(), Some("f@x.io"));
        assert!(!id.email_verified);
        let no_email = facebook_identity(br#"{"id":"fb-2","name":""}"#).unwrap();
        assert_eq!(
            (no_email.email, no_email.name.as_str()),
            (None, "Facebook user")
        );
    }

    #[test]
    fn callbacks() {
        assert_eq!(
            parse_callback("code=c%201&state=s"),
            Some(Callback::Code {
                code: "c 1".into(),
                state: "s".into()
            })
        );
        assert_eq!(
            parse_callback("error=access_denied&state=s"),
            Some(Callback::Denied {
                state: Some("s".into())
            })
        );
        assert_eq!(parse_callback("code=c"), None);
        assert_eq!(parse_callback("state=s&code="), None);
    }
}
