//! Sign-in through Google, GitHub and Facebook (the protocol is
//! `auth_core::oauth`; this is its I/O: variables, Redis, outbound HTTP,
//! and the accounts).

use auth_core::oauth::{self, Call, Identity, OAuthError, Pending, Provider, ProviderConfig};
use component_support::config;
use component_support::random;
use platform_core::account::Email;
use platform_core::ServiceError;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

use crate::exports::shop::platform::users::{OauthProvider, Role, Session};
use crate::service::{self, db, is_admin_email};
use crate::settings;
use crate::store;

/// A pending sign-in lives 10 minutes.
const PENDING_TTL_SECS: i64 = 600;

pub fn provider(p: OauthProvider) -> Provider {
    match p {
        OauthProvider::Google => Provider::Google,
        OauthProvider::Github => Provider::Github,
        OauthProvider::Facebook => Provider::Facebook,
    }
}

/// The provider's variables; an unconfigured provider is a 404.
fn config(p: Provider) -> Result<ProviderConfig, ServiceError> {
    let settings = match p {
        Provider::Google => &settings::GOOGLE,
        Provider::Github => &settings::GITHUB,
        Provider::Facebook => &settings::FACEBOOK,
    };
    let client_id = config::get(&settings.client_id)?;
    if client_id.trim().is_empty() {
        return Err(not_configured(p));
    }
    let cfg = ProviderConfig {
        client_id,
        client_secret: config::get(&settings.client_secret)?,
        auth_base: config::get(&settings.auth_base_url)?,
        api_base: config::get(&settings.api_base_url)?,
        redirect_base: config::get(&settings::OAUTH_REDIRECT_BASE_URL)?,
    };
    if !cfg.is_configured() {
        return Err(not_configured(p));
    }
    Ok(cfg)
}

fn not_configured(p: Provider) -> ServiceError {
    ServiceError::not_found(format!("Sign-in with {} is not configured", p.title()))
}

fn pending_key(state: &str) -> Vec<u8> {
    format!("oauth:state:{state}").into_bytes()
}

fn redis() -> Result<Connection, ServiceError> {
    Connection::open(&config::get(&settings::REDIS_URL)?).map_err(|e| redis_down(&format!("{e:?}")))
}

fn redis_down(detail: &str) -> ServiceError {
    component_support::log::error("redis unavailable for sign-in state", detail);
    ServiceError::unavailable("Sign-in with a provider is unavailable; try again")
}

pub fn authorize_url(p: Provider) -> Result<String, ServiceError> {
    let cfg = config(p)?;
    let state = oauth::random_text(&random::bytes::<32>());
    let pending = Pending {
        provider: p,
        verifier: oauth::random_text(&random::bytes::<32>()),
        nonce: (p == Provider::Google).then(|| oauth::random_text(&random::bytes::<32>())),
    };
    let value = serde_json::to_vec(&pending).map_err(|e| ServiceError::internal(e.to_string()))?;
    redis()?
        .execute(
            "SET",
            &[
                RedisParameter::Binary(pending_key(&state)),
                RedisParameter::Binary(value),
                RedisParameter::Binary(b"EX".to_vec()),
                RedisParameter::Int64(PENDING_TTL_SECS),
                RedisParameter::Binary(b"NX".to_vec()),
            ],
        )
        .map_err(|e| redis_down(&format!("SET: {e:?}")))?;
    Ok(oauth::authorize_url(p, &cfg, &state, &pending))
}

/// Takes the pending sign-in of `state` (GETDEL: a state works once).
fn take_pending(state: &str) -> Result<Option<Pending>, ServiceError> {
    let reply = redis()?
        .execute("GETDEL", &[RedisParameter::Binary(pending_key(state))])
        .map_err(|e| redis_down(&format!("GETDEL: {e:?}")))?;
    Ok(match reply.first() {
        Some(RedisResult::Binary(b)) => serde_json::from_slice(b).ok(),
        _ => None,
    })
}

pub fn callback(p: Provider, code: &str, state: &str) -> Result<Session, ServiceError> {
    let cfg = config(p)?;
    let pending = take_pending(state)?
        .filter(|pending| pending.provider == p)
        .ok_or_else(|| {
            ServiceError::Unauthenticated(
                "Sign-in expired or was already used; start again".to_string(),
            )
        })?;
    let identity = identify(p, &cfg, code, &pending)?;
    sign_in(p, identity)
}

/// Code → provider tokens → who signed in.
fn identify(
    p: Provider,
    cfg: &ProviderConfig,
    code: &str,
    pending: &Pending,
) -> Result<Identity, ServiceError> {
    let (status, body) = fetch(&oauth::token_call(p, cfg, code, &pending.verifier))?;
    let tokens = oauth::parse_tokens(status, &body).map_err(|e| provider_error(p, e))?;
    let identity = match p {
        Provider::Google => {
            let id_token = tokens
                .id_token
                .as_deref()
                .ok_or_else(|| provider_error(p, OAuthError::Malformed("no id_token".into())))?;
            oauth::google_identity(id_token, cfg, pending.nonce.as_deref(), now_secs())
        }
        Provider::Github => {
            let [user_call, emails_call] = oauth::github_calls(cfg, &tokens.access_token);
            let user = ok_body(p, fetch(&user_call)?)?;
            // Without the user:email grant the list is refused: no email then.
            let emails = fetch(&emails_call)?;
            let emails = (emails.0 == 200).then_some(emails.1);
            oauth::github_identity(&user, emails.as_deref())
        }
        Provider::Facebook => {
            let me = ok_body(p, fetch(&oauth::facebook_call(cfg, &tokens.access_token))?)?;
            oauth::facebook_identity(&me)
        }
    };
    identity.map_err(|e| provider_error(p, e))
}

fn ok_body(p: Provider, (status, body): (u16, Vec<u8>)) -> Result<Vec<u8>, ServiceError> {
    match status {
        200 => Ok(body),
        other => Err(provider_error(
            p,
            OAuthError::Malformed(format!("user endpoint answered {other}")),
        )),
    }
}

fn provider_error(p: Provider, e: OAuthError) -> ServiceError {
    match e {
        OAuthError::Refused(code) => {
            component_support::log::warn("provider refused a sign-in code", &code);
            ServiceError::Unauthenticated(format!("{} refused the sign-in; start again", p.title()))
        }
        OAuthError::Malformed(detail) => {
            component_support::log::error("unusable provider answer", &detail);
            ServiceError::unavailable(format!("{} sign-in is unavailable", p.title()))
        }
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// One provider call through Spin's outbound HTTP. Never logs the URL or
/// body: both can hold the client secret or a code.
fn fetch(call: &Call) -> Result<(u16, Vec<u8>), ServiceError> {
    let mut builder = Request::builder();
    builder
        .method(if call.post { Method::Post } else { Method::Get })
        .uri(call.url.as_str())
        .header("accept", "application/json")
        // GitHub refuses API calls without a User-Agent.
        .header("user-agent", "shop-platform");
    if let Some(token) = &call.bearer {
        builder.header("authorization", format!("Bearer {token}"));
    }
    if let Some(form) = &call.form {
        builder
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.clone().into_bytes());
    }
    let request = builder.build();
    let response: Response = spin_sdk::http::run(spin_sdk::http::send(request)).map_err(|e| {
        component_support::log::error("sign-in provider unreachable", &format!("{e}"));
        ServiceError::unavailable("The sign-in provider is unreachable; try again")
    })?;
    Ok((*response.status(), response.into_body()))
}

/// The account of a provider identity: the one it signed in before; else
/// the account of its email when the provider marks that email verified
/// (linked now); else a new account. An unverified email that belongs to an
/// existing account is refused: it could be anyone's.
fn sign_in(p: Provider, id: Identity) -> Result<Session, ServiceError> {
    let db = db()?;
    if let Some(stored) = store::by_identity(&db, p.name(), &id.subject)? {
        return service::start_session(&db, stored, None);
    }
    let email = id.email.clone().and_then(|e| Email::parse(e).ok());
    if let Some(email) = &email {
        if let Some(existing) = store::by_email(&db, email)? {
            if !id.email_verified {
                return Err(ServiceError::conflict(format!(
                    "An account with this email exists, and {} does not confirm the address is yours; \
                     sign in with your password",
                    p.title()
                )));
            }
            let user_id = existing.user.id;
            let evicted = store::link_verified_identity(
                &db,
                user_id,
                p.name(),
                &id.subject,
                email,
                &id.name,
            )?;
            if !evicted {
                return service::start_session(&db, existing, None);
            }
            component_support::log::warn(
                "provider proved the email of an account someone else registered: its password and sessions are gone",
                &format!("user_id={user_id}"),
            );
            store::queue_password_removed(&db, user_id)?;
            let owner = store::by_id(&db, user_id)?
                .ok_or_else(|| ServiceError::internal("linked account vanished"))?;
            return service::start_session(&db, owner, None);
        }
    }
    let account_email = email.as_ref().filter(|_| id.email_verified);
    let role = match account_email {
        Some(e) if is_admin_email(e)? => Role::Admin,
        _ => Role::Customer,
    };
    let stored = store::create_with_identity(
        &db,
        &id.name,
        account_email.map(Email::as_str),
        role,
        p.name(),
        &id.subject,
        id.email.as_deref(),
    )?;
    // Its role came from admin_emails just now: no second read.
    service::start_session_checked(&db, stored, None, false)
}
