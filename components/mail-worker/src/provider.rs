//! Resend's send API over Spin's outbound HTTP. The wire format and what
//! each answer means are `platform_core::resend` (shared with the local mail
//! sink); the key is sent as a bearer token and never logged.

use component_support::config;
use platform_core::mail::Rendered;
use platform_core::resend::{self, Outcome, SendEmail, Tag};
use platform_core::ServiceError;
use spin_sdk::http::{Method, Request, Response};

use crate::settings;

pub struct Provider {
    api_key: String,
    base_url: String,
    from: String,
}

impl Provider {
    /// The provider's settings, or `None` while the key or the sender is
    /// empty (mail is off: rows wait, nothing is lost).
    pub fn configured() -> Result<Option<Provider>, ServiceError> {
        let api_key = config::get(&settings::RESEND_API_KEY)?;
        let from = config::get(&settings::MAIL_FROM)?;
        if api_key.trim().is_empty() || from.trim().is_empty() {
            return Ok(None);
        }
        Ok(Some(Provider {
            api_key,
            base_url: config::get(&settings::RESEND_API_BASE_URL)?,
            from,
        }))
    }

    /// Sends one mail. The same delivery id gives the same idempotency key
    /// and the same bytes on every attempt, so a retry after a lost answer
    /// is recognised by the provider and never sent twice.
    pub fn send(&self, delivery_id: &str, to: &str, kind: &str, mail: &Rendered) -> Outcome {
        let body = SendEmail {
            from: self.from.clone(),
            to: vec![to.to_string()],
            subject: mail.subject.clone(),
            text: Some(mail.text.clone()),
            html: Some(mail.html.clone()),
            tags: vec![Tag {
                name: "kind".to_string(),
                value: kind.to_string(),
            }],
            reply_to: None,
        };
        let body = match serde_json::to_vec(&body) {
            Ok(body) => body,
            Err(e) => {
                return Outcome::Retry {
                    reason: format!("unserialisable mail: {e}"),
                }
            }
        };
        let mut builder = Request::builder();
        builder
            .method(Method::Post)
            .uri(format!("{}/emails", self.base_url.trim_end_matches('/')))
            .header("authorization", format!("Bearer {}", self.api_key))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header("idempotency-key", resend::idempotency_key(delivery_id))
            .body(body);
        let response: Response = match spin_sdk::http::run(spin_sdk::http::send(builder.build())) {
            Ok(response) => response,
            Err(e) => {
                return Outcome::Retry {
                    reason: format!("mail API unreachable: {e}"),
                }
            }
        };
        let header = |name: &str| {
            response
                .header(name)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let retry_after = header("retry-after");
        let reset = header("ratelimit-reset");
        resend::outcome(
            *response.status(),
            response.body(),
            retry_after.as_deref(),
            reset.as_deref(),
        )
    }
}
