//! The accounts route group: sign-up, sign-in, sessions and the profile,
//! over the users service, which is composed into this component (and only
//! this one).
//!
//! Sign-up and sign-in take their tokens before any password is hashed: the
//! buckets are what stands between a guesser and argon2's cost, so these
//! routes refuse (503) when Redis cannot count. A sign-in's failures, not
//! its attempts, cost the email's buckets (docs/decisions/0005 §4d), so
//! nobody can lock a named account out.

mod bodies;
mod links;

component_support::bindings!("accounts-api");

use edge::rate_limit::{self, Fail};
use edge::route::Accounts;
use edge::{auth, body, Context, Handler, HttpResult, Reply};
use platform_core::account::{self, Credentials, Email, OAuthProvider, Registration};
use platform_core::setting;
use platform_core::ServiceError;
use spin_sdk::http::IncomingRequest;

use auth_core::oauth::{self, Callback as OAuthReturn};
use bodies::{AuthorizeUrl, Message, SessionBody, TokensBody};
use edge::bodies::UserJson;
use shop::platform::users;

struct AccountsApi;

impl Handler for AccountsApi {
    type Routes = Accounts;

    async fn handle(route: Accounts, req: IncomingRequest, ctx: &mut Context) -> HttpResult {
        match route {
            Accounts::Register => {
                let address = edge::client::address(&req)?;
                let input = Registration::from_json(&body::read_json(req).await?)?;
                limit_sign_up(ctx, address, &input.email)?;
                users::register(&users::Registration {
                    full_name: input.full_name.as_str().to_string(),
                    email: input.email.as_str().to_string(),
                    password: input.password.expose().to_string(),
                })?;
                ctx.wake_mail_worker();
                let message = Message {
                    message: "User registered successfully",
                };
                Ok(Reply::json(201, &message))
            }
            Accounts::Login => {
                let address = edge::client::address(&req)?;
                let input = Credentials::from_json(&body::read_json(req).await?)?;
                let taken = rate_limit::take_sign_in(ctx, sign_in_limits(address, &input.email)?)?;
                let session = users::login(input.email.as_str(), input.password.expose())?;
                rate_limit::settle_sign_in(ctx, taken);
                ctx.user_id = Some(session.user.id);
                Ok(Reply::json(200, &SessionBody::from(session)))
            }
            Accounts::Refresh => {
                let token = account::refresh_token_from_json(&body::read_json(req).await?)?;
                let pair = users::refresh(&token)?;
                Ok(Reply::json(200, &TokensBody::from(pair)))
            }
            Accounts::Logout => {
                let token = account::refresh_token_from_json(&body::read_json(req).await?)?;
                users::logout(&token)?;
                Ok(Reply::no_content())
            }
            Accounts::Me => {
                let caller = auth::authenticate(&req, ctx)?;
                let user = users::get_user(caller.user_id)?;
                Ok(Reply::json(200, &UserJson::from(user)))
            }
            Accounts::OAuthStart(provider) => oauth_start(&req, ctx, provider),
            Accounts::VerifyEmail
            | Accounts::ResendVerification
            | Accounts::ForgotPassword
            | Accounts::ResetPassword
            | Accounts::ChangePassword => links::handle(route, req, ctx).await,
            Accounts::OAuthCallback(provider) => match oauth_callback_query(&ctx.query)? {
                OAuthReturn::Code { code, state } => {
                    let session = users::oauth_callback(wit_provider(provider), &code, &state)?;
                    ctx.user_id = Some(session.user.id);
                    Ok(Reply::json(200, &SessionBody::from(session)))
                }
                OAuthReturn::Denied { .. } => Err(ServiceError::Unauthenticated(
                    "Sign-in was cancelled at the provider".to_string(),
                )
                .into()),
            },
        }
    }
}

/// `GET /oauth/{provider}`: each start keeps a state in Redis for 10
/// minutes, so starts are limited per address (or anyone could fill Redis
/// with them) before the state is written.
fn oauth_start(req: &IncomingRequest, ctx: &mut Context, provider: OAuthProvider) -> HttpResult {
    if let Some(address) = edge::client::address(req)? {
        let bucket = rate_limit::configured("oauth-address", &OAUTH_START, &address)?;
        rate_limit::take(ctx, bucket.into_iter().collect(), Fail::Closed)?;
    }
    let url = users::oauth_authorize_url(wit_provider(provider))?;
    Ok(Reply::json(200, &AuthorizeUrl { url }))
}

fn wit_provider(p: OAuthProvider) -> users::OauthProvider {
    match p {
        OAuthProvider::Google => users::OauthProvider::Google,
        OAuthProvider::Github => users::OauthProvider::Github,
        OAuthProvider::Facebook => users::OauthProvider::Facebook,
    }
}

fn oauth_callback_query(query: &str) -> Result<OAuthReturn, ServiceError> {
    oauth::parse_callback(query)
        .ok_or_else(|| ServiceError::invalid("the callback needs `code` and `state`"))
}

/// Sign-ups per client address and per email.
const REGISTER_ADDRESS: setting::Bucket = setting::Bucket {
    name: "register_rate_limit",
};
const REGISTER_EMAIL: setting::Bucket = setting::Bucket {
    name: "register_email_rate_limit",
};

/// Provider sign-ins started per client address.
const OAUTH_START: setting::Bucket = setting::Bucket {
    name: "oauth_rate_limit",
};

/// Sign-in attempts per client address (every attempt: the CPU guard).
const LOGIN_ADDRESS: setting::Bucket = setting::Bucket {
    name: "login_rate_limit",
};
/// Failed sign-ins per email from one address.
const LOGIN_FAILURE: setting::Bucket = setting::Bucket {
    name: "login_failure_rate_limit",
};
/// Failed sign-ins per account from addresses it has not seen succeed.
const LOGIN_ACCOUNT_FAILURE: setting::Bucket = setting::Bucket {
    name: "login_account_failure_rate_limit",
};

/// Takes a sign-up's tokens: the client's address first (a refused address
/// does not drain the email's bucket), then the email.
fn limit_sign_up(
    ctx: &mut Context,
    address: Option<String>,
    email: &Email,
) -> Result<(), ServiceError> {
    let mut buckets = Vec::with_capacity(2);
    if let Some(address) = address {
        buckets.extend(rate_limit::configured(
            "register-address",
            &REGISTER_ADDRESS,
            &address,
        )?);
    }
    buckets.extend(rate_limit::configured(
        "register-email",
        &REGISTER_EMAIL,
        email.as_str(),
    )?);
    rate_limit::take(ctx, buckets, Fail::Closed)
}

/// A sign-in's buckets. A client without an address (no peer known) shares
/// the `-` subject with every other such client.
fn sign_in_limits(
    address: Option<String>,
    email: &Email,
) -> Result<rate_limit::SignIn, ServiceError> {
    let email = email.as_str();
    let per_address = match &address {
        Some(address) => rate_limit::configured("login-address", &LOGIN_ADDRESS, address)?,
        None => None,
    };
    let pair = sign_in_pair(email, address.as_deref());
    Ok(rate_limit::SignIn {
        address: per_address,
        failures: rate_limit::configured("login-failure", &LOGIN_FAILURE, &pair)?,
        account: rate_limit::configured("login-account", &LOGIN_ACCOUNT_FAILURE, email)?,
        known_key: known_address_key(email, address.as_deref()),
    })
}

/// An email and the client's address (`-` when none): the failure bucket's
/// subject.
fn sign_in_pair(email: &str, address: Option<&str>) -> String {
    format!("{email}|{}", address.unwrap_or("-"))
}

/// The marker of an address that signed in to (or reset) the account.
fn known_address_key(email: &str, address: Option<&str>) -> String {
    format!("login:known:{}", sign_in_pair(email, address))
}

edge::http_entry!(AccountsApi);
