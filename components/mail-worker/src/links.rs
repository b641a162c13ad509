//! The link a verify or reset mail carries (docs/decisions/0005 §1): derived
//! here from the token row's id and `mail_link_secret`, its hash stored
//! before the mail goes out. The plaintext exists only in this instance's
//! memory, the provider request and the mail; every retry derives the same
//! link, so the provider's idempotency key sees the same bytes.

use auth_core::link::{self, Purpose};
use component_support::config;
use component_support::db::Db;
use platform_core::mail::{Facts, MailKind};
use platform_core::ServiceError;

use crate::settings;
use crate::store;

pub enum Link {
    /// Not a link mail, or its link is in the facts.
    Ready,
    /// Used, expired, or its address changed: the mail ends `stale`.
    Dead,
    /// `mail_link_secret` is unset or weak: link mails wait.
    NoSecret,
}

pub fn attach(
    db: &Db,
    kind: MailKind,
    token_id: Option<&str>,
    facts: &mut Facts,
    shop_url: &str,
) -> Result<Link, ServiceError> {
    let (purpose, page, ttl) = match kind {
        MailKind::VerifyEmail => (
            Purpose::VerifyEmail,
            "verify-email",
            &settings::EMAIL_VERIFY_TTL_SECS,
        ),
        MailKind::ResetPassword => (
            Purpose::ResetPassword,
            "reset-password",
            &settings::PASSWORD_RESET_TTL_SECS,
        ),
        _ => return Ok(Link::Ready),
    };
    let Some(token_id) = token_id else {
        return Ok(Link::Dead);
    };
    let secret = config::get(&settings::MAIL_LINK_SECRET)?;
    if !link::secret_usable(&secret) {
        return Ok(Link::NoSecret);
    }
    let token = link::derive(&link::link_key(secret.as_bytes()), purpose, token_id);
    // Within i32 by the setting's bounds.
    let ttl_secs = i32::try_from(config::get(ttl)?).unwrap_or(i32::MAX);
    if !store::issue_link(db, token_id, &link::storage_hash(&token), ttl_secs)? {
        return Ok(Link::Dead);
    }
    // The token rides in the fragment: never sent to a server, a log or a
    // Referer; the page POSTs it.
    facts.link = Some(format!(
        "{}/app/{page}#token={token}",
        shop_url.trim_end_matches('/')
    ));
    facts.ttl_secs = Some(ttl_secs as u64);
    Ok(Link::Ready)
}
