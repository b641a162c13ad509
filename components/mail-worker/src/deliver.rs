//! One wake: claim the due mails, render and send each, record each outcome.

use component_support::config;
use component_support::db::Db;
use platform_core::mail::{self, Facts, MailKind};
use platform_core::resend::{Outcome, IN_FLIGHT_RETRY_SECS};
use platform_core::ServiceError;
use serde::Serialize;

use crate::links::{self, Link};
use crate::provider::Provider;
use crate::settings;
use crate::store::{self, Claimed, Finish};

pub fn wake(limit: i32, tick: bool) -> Result<(), ServiceError> {
    let db = Db::open(&config::get(&settings::DATABASE_URL)?)?;
    if tick {
        let pruned = store::prune(&db)?;
        if pruned > 0 {
            log(
                "info",
                "mail deliveries pruned",
                None,
                None,
                &pruned.to_string(),
            );
        }
    }
    let claimed = store::claim(&db, limit)?;
    if claimed.is_empty() {
        return Ok(());
    }
    let Some(provider) = Provider::configured()? else {
        component_support::log::warn(
            "mail is off (resend_api_key or mail_from is empty); mails wait",
            &format!("due={}", claimed.len()),
        );
        for mail in &claimed {
            let in_secs = mail::retry_delay_secs(mail.attempts.saturating_sub(1).max(0) as u32);
            let error = "mail is not configured";
            store::finish(&db, &mail.id, Finish::Retry { in_secs, error })?;
        }
        return Ok(());
    };
    let shop_url = config::get(&settings::STOREFRONT_URL)?;
    let mut paused: Option<u32> = None;
    for mail in &claimed {
        let outcome = match paused {
            // The provider said stop: the rest of the batch waits with it.
            Some(secs) => Finish::Paused { secs },
            None => {
                let outcome = deliver(&db, &provider, &shop_url, mail)?;
                if let Finish::Paused { secs } = outcome {
                    paused = Some(secs);
                }
                outcome
            }
        };
        store::finish(&db, &mail.id, outcome)?;
    }
    Ok(())
}

/// Renders and sends one mail; the outcome to record (a pause stops the
/// rest of the batch). Logs the delivery id, kind and outcome —
/// never the address, the body or a link.
fn deliver(
    db: &Db,
    provider: &Provider,
    shop_url: &str,
    mail: &Claimed,
) -> Result<Finish, ServiceError> {
    let retry_in = mail::retry_delay_secs(mail.attempts.saturating_sub(1).max(0) as u32);
    let ended = |reason: &'static str| {
        log("warn", "mail will not be sent", Some(mail), None, reason);
        Finish::Ended {
            reason: reason.to_string(),
        }
    };
    let Some(kind) = MailKind::parse(&mail.kind) else {
        return Ok(ended("unknown_kind"));
    };
    let mut facts = match Facts::from_json(mail.facts.as_bytes()) {
        Ok(facts) => facts,
        Err(e) => return Ok(ended(e.reason())),
    };
    match links::attach(
        db,
        kind,
        mail.account_token_id.as_deref(),
        &mut facts,
        shop_url,
    )? {
        Link::Ready => {}
        Link::Dead => return Ok(ended("stale")),
        Link::NoSecret => {
            log(
                "error",
                "mail_link_secret is unset or weak; link mails wait",
                Some(mail),
                None,
                "",
            );
            let error = "mail_link_secret is not set";
            return Ok(Finish::Retry {
                in_secs: retry_in,
                error,
            });
        }
    }
    let rendered = match mail::render(kind, &facts, shop_url) {
        Ok(rendered) => rendered,
        Err(e) => return Ok(ended(e.reason())),
    };
    let Some(to) = facts.address() else {
        return Ok(ended("no_address"));
    };
    Ok(send(provider, mail, to, kind, &rendered, retry_in))
}

fn send(
    provider: &Provider,
    mail: &Claimed,
    to: &str,
    kind: MailKind,
    rendered: &mail::Rendered,
    retry_in: u32,
) -> Finish {
    let outcome = provider.send(&mail.id, to, kind.as_str(), rendered);
    let (level, msg, detail, finish) = verdict(outcome, retry_in);
    let provider_id = match &finish {
        Finish::Sent { provider_id } => provider_id.as_deref(),
        _ => None,
    };
    log(level, msg, Some(mail), provider_id, &detail);
    finish
}

/// What a send's outcome means for the mail, and its log line's level,
/// message and detail.
fn verdict(outcome: Outcome, retry_in: u32) -> (&'static str, &'static str, String, Finish) {
    let retry = |error| Finish::Retry {
        in_secs: retry_in,
        error,
    };
    match outcome {
        Outcome::Sent { id } => (
            "info",
            "mail sent",
            "sent".to_string(),
            Finish::Sent {
                provider_id: Some(id),
            },
        ),
        Outcome::AlreadySent => (
            "warn",
            "mail was already sent under its key",
            "already_sent".to_string(),
            Finish::Sent { provider_id: None },
        ),
        Outcome::Refused { name } => (
            "error",
            "mail refused by the provider",
            name.clone(),
            Finish::Ended {
                reason: format!("refused:{name}"),
            },
        ),
        Outcome::Misconfigured { name } => (
            "error",
            "mail provider refused our key; mails wait",
            name,
            retry("provider refused the API key"),
        ),
        Outcome::Paused { secs } => {
            let secs = u32::try_from(secs).unwrap_or(u32::MAX);
            let msg = "mail provider is rate-limited; mails wait";
            ("warn", msg, secs.to_string(), Finish::Paused { secs })
        }
        Outcome::InFlight => (
            "info",
            "mail still being sent under its key; looked at again soon",
            "in_flight".to_string(),
            Finish::Retry {
                in_secs: IN_FLIGHT_RETRY_SECS as u32,
                error: "provider still sending this mail",
            },
        ),
        Outcome::Retry { reason } => (
            "warn",
            "mail send failed; retried",
            reason,
            retry("provider unavailable"),
        ),
    }
}

#[derive(Serialize)]
struct MailLog<'a> {
    level: &'a str,
    msg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempt: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider_id: Option<&'a str>,
    detail: &'a str,
}

fn log(level: &str, msg: &str, mail: Option<&Claimed>, provider_id: Option<&str>, detail: &str) {
    component_support::log::line(&MailLog {
        level,
        msg,
        delivery_id: mail.map(|m| m.id.as_str()),
        kind: mail.map(|m| m.kind.as_str()),
        attempt: mail.map(|m| m.attempts),
        provider_id,
        detail,
    });
}
