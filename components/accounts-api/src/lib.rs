//! The accounts route group: sign-up, sign-in, sessions and the profile,
//! over the users service, which is composed into this component (and only
//! this one).
//!
//! Sign-up and sign-in take a token from a per-address and a per-email
//! bucket before any password is hashed: the buckets are what stands
//! between a guesser and argon2's cost.

mod bodies;

component_support::bindings!("accounts-api");

use edge::rate_limit;
use edge::route::Accounts;
use edge::{auth, body, Context, Handler, HttpResult, Reply};
use platform_core::account::{self, Credentials, Email, OAuthProvider, Registration};
use platform_core::setting;
use platform_core::ServiceError;
use spin_sdk::http::IncomingRequest;

use auth_core::oauth::{self, Callback as OAuthReturn};
use bodies::{AuthorizeUrl, Message, SessionBody, TokensBody, UserJson};
use shop::platform::users;

struct AccountsApi;

impl Handler for AccountsApi {
    type Routes = Accounts;

    async fn handle(route: Accounts, req: IncomingRequest, ctx: &mut Context) -> HttpResult {
        match route {
            Accounts::Register => {
                let address = edge::client::address(&req)?;
                let input = Registration::from_json(&body::read_json(req).await?)?;
                limit_attempts(ctx, &SIGN_UP, address, &input.email)?;
                users::register(&users::Registration {
                    full_name: input.full_name.as_str().to_string(),
                    email: input.email.as_str().to_string(),
                    password: input.password.expose().to_string(),
                })?;
                let message = Message {
                    message: "User registered successfully",
                };
                Ok(Reply::json(201, &message))
            }
            Accounts::Login => {
                let address = edge::client::address(&req)?;
                let input = Credentials::from_json(&body::read_json(req).await?)?;
                limit_attempts(ctx, &SIGN_IN, address, &input.email)?;
                let session = users::login(input.email.as_str(), input.password.expose())?;
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
        rate_limit::take(ctx, bucket.into_iter().collect())?;
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

/// The brute-force limits of one kind of attempt: a bucket per client
/// address and one per email, each `(policy, setting)`; a setting of `off`
/// drops its bucket.
struct AttemptLimits {
    per_address: (&'static str, setting::Bucket),
    per_email: (&'static str, setting::Bucket),
}

const SIGN_UP: AttemptLimits = AttemptLimits {
    per_address: (
        "register-address",
        setting::Bucket {
            name: "register_rate_limit",
        },
    ),
    per_email: (
        "register-email",
        setting::Bucket {
            name: "register_email_rate_limit",
        },
    ),
};

/// Provider sign-ins started per client address.
const OAUTH_START: setting::Bucket = setting::Bucket {
    name: "oauth_rate_limit",
};

const SIGN_IN: AttemptLimits = AttemptLimits {
    per_address: (
        "login-address",
        setting::Bucket {
            name: "login_rate_limit",
        },
    ),
    per_email: (
        "login-email",
        setting::Bucket {
            name: "login_email_rate_limit",
        },
    ),
};

/// Takes the attempt's tokens: the client's address first (a refused
/// address does not drain the email's bucket), then the email.
fn limit_attempts(
    ctx: &mut Context,
    limits: &AttemptLimits,
    address: Option<String>,
    email: &Email,
) -> Result<(), ServiceError> {
    let mut buckets = Vec::with_capacity(2);
    if let Some(address) = address {
        let (policy, setting) = &limits.per_address;
        buckets.extend(rate_limit::configured(policy, setting, &address)?);
    }
    let (policy, setting) = &limits.per_email;
    buckets.extend(rate_limit::configured(policy, setting, email.as_str())?);
    rate_limit::take(ctx, buckets)
}

edge::http_entry!(AccountsApi);
