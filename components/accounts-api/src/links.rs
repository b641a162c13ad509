//! The account-link routes (docs/decisions/0005 §1): verify an email, ask
//! for a new verify link, forgot / reset a password, change it. Each is
//! limited before any SQL or argon2, and the limiter fails closed: these
//! routes guard mailboxes and accounts. A route that may have queued a mail
//! wakes the mail worker on the request's Redis connection.

use edge::rate_limit::{self, Fail};
use edge::route::Accounts;
use edge::{auth, body, Context, HttpResult, Reply};
use platform_core::account_link::{
    self, PasswordChange, PasswordReset, FORGOT_ACCEPTED, VERIFY_QUEUED,
};
use platform_core::rate_limit::KNOWN_ADDRESS_SECS;
use platform_core::{setting, ServiceError};
use spin_sdk::http::IncomingRequest;

use crate::bodies::{Message, TokensBody};
use crate::shop::platform::users;

/// Link uses per client address (`/verify-email`, `/password/reset`).
const LINK: setting::Bucket = setting::Bucket {
    name: "link_rate_limit",
};
/// "Forgot password" per client address, and per email.
const FORGOT: setting::Bucket = setting::Bucket {
    name: "forgot_rate_limit",
};
const FORGOT_EMAIL: setting::Bucket = setting::Bucket {
    name: "forgot_email_rate_limit",
};
/// New verify links per account.
const VERIFY_RESEND: setting::Bucket = setting::Bucket {
    name: "verify_resend_rate_limit",
};
/// Password changes per account (each checks the current one with argon2).
const PASSWORD_CHANGE: setting::Bucket = setting::Bucket {
    name: "password_change_rate_limit",
};

pub async fn handle(route: Accounts, req: IncomingRequest, ctx: &mut Context) -> HttpResult {
    match route {
        Accounts::VerifyEmail => {
            per_address(ctx, &req, "link-address", &LINK)?;
            let token = account_link::verify_token_from_json(&body::read_json(req).await?)?;
            users::verify_email(&token)?;
            Ok(Reply::no_content())
        }
        Accounts::ResendVerification => {
            let caller = auth::authenticate(&req, ctx)?;
            per_user(ctx, "verify-resend", &VERIFY_RESEND, caller.user_id)?;
            users::request_verification(caller.user_id)?;
            ctx.wake_mail_worker();
            Ok(Reply::json(
                202,
                &Message {
                    message: VERIFY_QUEUED,
                },
            ))
        }
        Accounts::ForgotPassword => forgot(req, ctx).await,
        Accounts::ResetPassword => reset(req, ctx).await,
        Accounts::ChangePassword => {
            let caller = auth::authenticate(&req, ctx)?;
            per_user(ctx, "password-change", &PASSWORD_CHANGE, caller.user_id)?;
            let change = PasswordChange::from_json(&body::read_json(req).await?)?;
            let pair =
                users::change_password(caller.user_id, &change.current, change.new.expose())?;
            ctx.wake_mail_worker();
            Ok(Reply::json(200, &TokensBody::from(pair)))
        }
        other => Err(ServiceError::internal(format!("{other:?} is not a link route")).into()),
    }
}

/// Always 202 with the same body: the answer never says whether an account
/// uses the address.
async fn forgot(req: IncomingRequest, ctx: &mut Context) -> HttpResult {
    let address = edge::client::address(&req)?;
    let email = account_link::forgot_email_from_json(&body::read_json(req).await?)?;
    let mut buckets = Vec::with_capacity(2);
    if let Some(address) = address {
        buckets.extend(rate_limit::configured("forgot-address", &FORGOT, &address)?);
    }
    buckets.extend(rate_limit::configured(
        "forgot-email",
        &FORGOT_EMAIL,
        email.as_str(),
    )?);
    rate_limit::take(ctx, buckets, Fail::Closed)?;
    users::forgot_password(email.as_str())?;
    // Known address or not: the same calls, the same answer.
    ctx.wake_mail_worker();
    Ok(Reply::json(
        202,
        &Message {
            message: FORGOT_ACCEPTED,
        },
    ))
}

async fn reset(req: IncomingRequest, ctx: &mut Context) -> HttpResult {
    let address = edge::client::address(&req)?;
    per_address(ctx, &req, "link-address", &LINK)?;
    let reset = PasswordReset::from_json(&body::read_json(req).await?)?;
    let email = users::reset_password(&reset.token, reset.password.expose())?;
    // The link reached the owner here: this address may sign in
    // even while strangers hold the account's failure bucket empty.
    if let Some(redis) = ctx.redis() {
        let key = crate::known_address_key(&email, address.as_deref());
        redis.put(&key, b"1", i64::from(KNOWN_ADDRESS_SECS));
    }
    ctx.wake_mail_worker();
    Ok(Reply::no_content())
}

fn per_address(
    ctx: &mut Context,
    req: &IncomingRequest,
    policy: &'static str,
    setting: &setting::Bucket,
) -> Result<(), ServiceError> {
    let Some(address) = edge::client::address(req)? else {
        return Ok(());
    };
    let bucket = rate_limit::configured(policy, setting, &address)?;
    rate_limit::take(ctx, bucket.into_iter().collect(), Fail::Closed)
}

fn per_user(
    ctx: &mut Context,
    policy: &'static str,
    setting: &setting::Bucket,
    user_id: i64,
) -> Result<(), ServiceError> {
    let bucket = rate_limit::configured(policy, setting, &format!("user:{user_id}"))?;
    rate_limit::take(ctx, bucket.into_iter().collect(), Fail::Closed)
}
