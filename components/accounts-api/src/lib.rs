//! The accounts route group: sign-up, sign-in, sessions and the profile,
//! over the users service, which is composed into this component (and only
//! this one).
//!
//! Sign-up and sign-in take a token from a per-address and a per-email
//! bucket before any password is hashed: the buckets are what stands
//! between a guesser and argon2's cost.

mod bodies;

wit_bindgen::generate!({
    world: "accounts-api",
    path: "../../wit",
    with: { "shop:platform/types@0.1.0": component_support::wit::types },
});

use edge::rate_limit;
use edge::{auth, body, Context, Handler, HttpError, Reply};
use platform_core::account::{self, Credentials, Email, OAuthProvider, Registration};
use platform_core::rate_limit::Bucket;
use platform_core::route::Route;
use platform_core::ServiceError;
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

use auth_core::oauth::{self, Callback as OAuthReturn};
use bodies::{AuthorizeUrl, Message, SessionBody, TokensBody, UserJson};
use shop::platform::users;

struct Accounts;

impl Handler for Accounts {
    async fn handle(
        route: Route,
        req: IncomingRequest,
        ctx: &mut Context,
    ) -> Result<Reply, HttpError> {
        match route {
            Route::Register => {
                let address = edge::client::address(&req);
                let input = Registration::from_json(&body::read_json(req).await?)?;
                let admitted = rate_limit::take(attempt_buckets(
                    ("register-address", "register_rate_limit"),
                    ("register-email", "register_email_rate_limit"),
                    address,
                    &input.email,
                )?)?;
                let registered = users::register(&users::Registration {
                    full_name: input.full_name.as_str().to_string(),
                    email: input.email.as_str().to_string(),
                    password: input.password.expose().to_string(),
                })
                .map(|_| {
                    let message = Message {
                        message: "User registered successfully",
                    };
                    Reply::json(201, &message)
                })
                .map_err(HttpError::from);
                Ok(admitted.around(ctx, registered))
            }
            Route::Login => {
                let address = edge::client::address(&req);
                let input = Credentials::from_json(&body::read_json(req).await?)?;
                let admitted = rate_limit::take(attempt_buckets(
                    ("login-address", "login_rate_limit"),
                    ("login-email", "login_email_rate_limit"),
                    address,
                    &input.email,
                )?)?;
                let session = users::login(input.email.as_str(), input.password.expose())
                    .map_err(HttpError::from);
                if let Ok(s) = &session {
                    ctx.user_id = Some(s.user.id);
                }
                let reply = session.map(|s| Reply::json(200, &SessionBody::from(s)));
                Ok(admitted.around(ctx, reply))
            }
            Route::Refresh => {
                let token = account::refresh_token_from_json(&body::read_json(req).await?)?;
                let pair = users::refresh(&token)?;
                Ok(Reply::json(200, &TokensBody::from(pair)))
            }
            Route::Logout => {
                let token = account::refresh_token_from_json(&body::read_json(req).await?)?;
                users::logout(&token)?;
                Ok(Reply::no_content())
            }
            Route::Me => {
                let caller = auth::authenticate(&req, ctx)?;
                let user = users::get_user(caller.user_id)?;
                Ok(Reply::json(200, &UserJson::from(user)))
            }
            Route::OAuthStart(provider) => {
                let url = users::oauth_authorize_url(wit_provider(provider))?;
                Ok(Reply::json(200, &AuthorizeUrl { url }))
            }
            Route::OAuthCallback(provider) => match oauth_callback_query(&ctx.query)? {
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
            _ => Err(HttpError::NoRoute),
        }
    }
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

/// The brute-force buckets of a sign-in or sign-up: the client's address
/// first (a refused address does not drain the email's bucket), then the
/// email. `(policy, variable)` each; a variable set to `off` drops its bucket.
fn attempt_buckets(
    per_address: (&'static str, &str),
    per_email: (&'static str, &str),
    address: Option<String>,
    email: &Email,
) -> Result<Vec<Bucket>, ServiceError> {
    let mut buckets = Vec::with_capacity(2);
    if let Some(address) = address {
        buckets.extend(rate_limit::configured(
            per_address.0,
            per_address.1,
            &address,
        )?);
    }
    buckets.extend(rate_limit::configured(
        per_email.0,
        per_email.1,
        email.as_str(),
    )?);
    Ok(buckets)
}

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    edge::serve::<Accounts>(req).await
}
