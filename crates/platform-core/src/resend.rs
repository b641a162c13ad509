//! Resend's wire format, in one place: what the mail worker sends and reads,
//! and what the local mail sink (`tools/mail-sink`) parses and answers. The
//! send request (`POST /emails`), its answer, the error body, and
//! [`outcome`]: what an answer means for a delivery (sent, refused for good,
//! retry, pause).
//!
//! Names are Resend's. Optional fields are left out when absent, never sent
//! as `null`, and fields are declared in the order they are written, so a
//! retry of the same mail is byte-identical (the idempotency key needs it).

use serde::{Deserialize, Deserializer, Serialize};
use serde_with::skip_serializing_none;

/// Resend keeps idempotency keys of at most this many characters (24 h).
pub const IDEMPOTENCY_KEY_MAX: usize = 256;

/// Resend takes at most this many `to` addresses per mail.
pub const MAX_RECIPIENTS: usize = 50;

/// A 429 without `Retry-After` or `ratelimit-reset` pauses sending this long.
pub const DEFAULT_PAUSE_SECS: u64 = 60;

/// The longest pause a 429 can ask for: a daily quota answers a day at most,
/// and a bogus header must not stop the mail for longer.
pub const MAX_PAUSE_SECS: u64 = 86_400;

/// After `concurrent_idempotent_requests`, the first attempt is still being
/// processed: look again this much later.
pub const IN_FLIGHT_RETRY_SECS: u64 = 5;

/// `POST /emails`. Resend requires `from`, `to`, `subject` and one of
/// `text` or `html`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendEmail {
    /// `shop@example.com` or `Shop <shop@example.com>`.
    pub from: String,
    /// One address or up to [`MAX_RECIPIENTS`]; Resend accepts a string too.
    #[serde(deserialize_with = "one_or_many")]
    pub to: Vec<String>,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    #[serde(default, deserialize_with = "maybe_one_or_many")]
    pub reply_to: Option<Vec<String>>,
    /// Names and values of ASCII letters, digits, `_` and `-`; the mail's
    /// `kind` travels as the tag named `kind`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl SendEmail {
    /// The value of the tag named `name`.
    pub fn tag(&self, name: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.value.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub name: String,
    pub value: String,
}

impl Tag {
    pub fn new(name: &str, value: &str) -> Tag {
        Tag {
            name: name.to_string(),
            value: value.to_string(),
        }
    }
}

/// Resend's 200 answer to a send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendOk {
    pub id: String,
}

/// Every Resend error: `{"statusCode": 422, "message": "…", "name":
/// "validation_error"}`. Programs match `name`; `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(rename = "statusCode", default)]
    pub status_code: u16,
    #[serde(default)]
    pub message: String,
    pub name: String,
}

impl ErrorBody {
    pub fn new(status_code: u16, name: &str, message: &str) -> ErrorBody {
        ErrorBody {
            status_code,
            message: message.to_string(),
            name: name.to_string(),
        }
    }
}

/// What an answer to `POST /emails` means for the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted; `id` is the provider's message id.
    Sent { id: String },
    /// 400/422 with Resend's error: this mail will never be accepted
    /// (`validation_error`, `invalid_from_address`, `missing_required_field`…).
    Refused { name: String },
    /// 401/403 (a missing, invalid or restricted key; an unverified domain)
    /// or 404/405 (a wrong base URL): a configuration error. Retry and log an
    /// error: once fixed, nothing is lost.
    Misconfigured { name: String },
    /// 429 (`rate_limit_exceeded`, `daily_quota_exceeded`,
    /// `monthly_quota_exceeded`): send nothing for `secs`.
    Paused { secs: u64 },
    /// 409 `invalid_idempotent_request`: the key was used with another body,
    /// so a first send under it went out. Mark it sent, without an id.
    AlreadySent,
    /// 409 `concurrent_idempotent_requests`: the first attempt is still in
    /// progress; retry in [`IN_FLIGHT_RETRY_SECS`].
    InFlight,
    /// 5xx, or an answer that is not Resend's: retry later. `reason` holds
    /// the status and the error name, never the message (it may quote an
    /// address).
    Retry { reason: String },
}

/// Classifies Resend's answer: its HTTP status, body and the `Retry-After`
/// and `ratelimit-reset` headers. Only Resend's own error body can end a
/// mail unsent or mark it sent without an id; anything unrecognised retries.
pub fn outcome(
    status: u16,
    body: &[u8],
    retry_after: Option<&str>,
    ratelimit_reset: Option<&str>,
) -> Outcome {
    if (200..300).contains(&status) {
        return match serde_json::from_slice::<SendOk>(body) {
            Ok(ok) if !ok.id.is_empty() => Outcome::Sent { id: ok.id },
            _ => Outcome::Retry {
                reason: format!("HTTP {status} without a message id"),
            },
        };
    }
    if status == 429 {
        return Outcome::Paused {
            secs: pause_secs(retry_after, ratelimit_reset),
        };
    }
    let name = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|e| e.name)
        .filter(|n| !n.is_empty());
    match (status, name) {
        (401 | 403 | 404 | 405, name) => Outcome::Misconfigured {
            name: name.unwrap_or_else(|| format!("http_{status}")),
        },
        (400 | 422, Some(name)) => Outcome::Refused { name },
        (409, Some(name)) if name == "invalid_idempotent_request" => Outcome::AlreadySent,
        (409, Some(name)) if name == "concurrent_idempotent_requests" => Outcome::InFlight,
        (_, Some(name)) => Outcome::Retry {
            reason: format!("HTTP {status} ({name})"),
        },
        (_, None) => Outcome::Retry {
            reason: format!("HTTP {status} without Resend's error body"),
        },
    }
}

/// Seconds to pause after a 429: `Retry-After`, else `ratelimit-reset`
/// (both in seconds), else [`DEFAULT_PAUSE_SECS`]; at least 1, at most
/// [`MAX_PAUSE_SECS`]. An HTTP-date `Retry-After` counts as absent.
fn pause_secs(retry_after: Option<&str>, ratelimit_reset: Option<&str>) -> u64 {
    let secs = |h: Option<&str>| h.and_then(|v| v.trim().parse::<u64>().ok());
    secs(retry_after)
        .or(secs(ratelimit_reset))
        .unwrap_or(DEFAULT_PAUSE_SECS)
        .clamp(1, MAX_PAUSE_SECS)
}

/// The `Idempotency-Key` of a delivery: the same on every attempt, so Resend
/// answers a retry with the first send's id and sends nothing twice.
pub fn idempotency_key(delivery_id: &str) -> String {
    format!("mail-{delivery_id}")
}

/// A string or an array of strings, as Resend accepts for addresses.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl From<OneOrMany> for Vec<String> {
    fn from(v: OneOrMany) -> Vec<String> {
        match v {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    OneOrMany::deserialize(d).map(Vec::from)
}

fn maybe_one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(Option::<OneOrMany>::deserialize(d)?.map(Vec::from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mail() -> SendEmail {
        SendEmail {
            from: "Shop <shop@mail.dev.test>".into(),
            to: vec!["budi@example.com".into()],
            subject: "Your order".into(),
            text: Some("Thanks".into()),
            html: None,
            reply_to: None,
            tags: vec![Tag::new("kind", "order_paid")],
        }
    }

    #[test]
    fn send_email_is_resends_body_without_absent_fields() {
        let body = serde_json::to_string(&mail()).unwrap();
        assert_eq!(
            body,
            r#"{"from":"Shop <shop@mail.dev.test>","to":["budi@example.com"],"subject":"Your order","text":"Thanks","tags":[{"name":"kind","value":"order_paid"}]}"#
        );
        let back: SendEmail = serde_json::from_str(&body).unwrap();
        assert_eq!(back, mail());
        assert_eq!(back.tag("kind"), Some("order_paid"));
        assert_eq!(back.tag("other"), None);
    }

    #[test]
    fn to_and_reply_to_accept_a_string_or_an_array() {
        let one: SendEmail = serde_json::from_value(json!({
            "from": "a@b.test", "to": "c@d.test", "subject": "s", "html": "<p>x</p>",
            "reply_to": "e@f.test", "cc": ["ignored@x.test"],
        }))
        .unwrap();
        assert_eq!(one.to, ["c@d.test"]);
        assert_eq!(one.reply_to, Some(vec!["e@f.test".to_string()]));
        assert!(one.tags.is_empty() && one.text.is_none());
        let many: SendEmail = serde_json::from_value(json!({
            "from": "a@b.test", "to": ["c@d.test", "e@f.test"], "subject": "s",
            "reply_to": null,
        }))
        .unwrap();
        assert_eq!(many.to, ["c@d.test", "e@f.test"]);
        assert_eq!(many.reply_to, None);
        let missing = json!({"from": "a@b.test", "subject": "s"});
        assert!(serde_json::from_value::<SendEmail>(missing).is_err());
        let wrong = json!({"from": "a@b.test", "to": 7, "subject": "s"});
        assert!(serde_json::from_value::<SendEmail>(wrong).is_err());
    }

    #[test]
    fn error_body_uses_resends_names() {
        let e = ErrorBody::new(422, "validation_error", "Invalid `to` field.");
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(
            text,
            r#"{"statusCode":422,"message":"Invalid `to` field.","name":"validation_error"}"#
        );
        assert_eq!(serde_json::from_str::<ErrorBody>(&text).unwrap(), e);
    }

    fn error(status: u16, name: &str) -> Vec<u8> {
        serde_json::to_vec(&ErrorBody::new(status, name, "about a@b.test")).unwrap()
    }

    #[test]
    fn success_is_sent_with_the_id() {
        let id = "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794";
        let body = format!(r#"{{"id":"{id}"}}"#);
        assert_eq!(
            outcome(200, body.as_bytes(), None, None),
            Outcome::Sent { id: id.into() }
        );
        for bad in [&b"{}"[..], b"{\"id\":\"\"}", b"<html>", b""] {
            assert!(matches!(
                outcome(200, bad, None, None),
                Outcome::Retry { .. }
            ));
        }
    }

    #[test]
    fn validation_errors_refuse_the_mail() {
        for (status, name) in [
            (422, "validation_error"),
            (422, "invalid_from_address"),
            (422, "missing_required_field"),
            (400, "validation_error"),
            (400, "invalid_idempotency_key"),
        ] {
            assert_eq!(
                outcome(status, &error(status, name), None, None),
                Outcome::Refused { name: name.into() }
            );
        }
        // Not Resend speaking (a proxy): never end a mail on that.
        assert!(matches!(
            outcome(400, b"Bad Request", None, None),
            Outcome::Retry { .. }
        ));
    }

    #[test]
    fn key_and_address_errors_are_configuration() {
        for (status, name) in [
            (401, "missing_api_key"),
            (403, "invalid_api_key"),
            (401, "restricted_api_key"),
            (403, "validation_error"),
            (404, "not_found"),
        ] {
            assert_eq!(
                outcome(status, &error(status, name), None, None),
                Outcome::Misconfigured { name: name.into() }
            );
        }
        assert_eq!(
            outcome(403, b"Forbidden", None, None),
            Outcome::Misconfigured {
                name: "http_403".into()
            }
        );
    }

    #[test]
    fn rate_limits_pause_for_the_advertised_time() {
        for name in [
            "rate_limit_exceeded",
            "daily_quota_exceeded",
            "monthly_quota_exceeded",
        ] {
            let body = error(429, name);
            let pause = |retry_after, reset| outcome(429, &body, retry_after, reset);
            assert_eq!(pause(Some("7"), Some("3")), Outcome::Paused { secs: 7 });
            assert_eq!(pause(None, Some(" 3 ")), Outcome::Paused { secs: 3 });
            let date = Some("Wed, 21 Oct 2015 07:28:00 GMT");
            assert_eq!(pause(date, Some("3")), Outcome::Paused { secs: 3 });
            assert_eq!(pause(None, None), Outcome::Paused { secs: 60 });
            assert_eq!(pause(Some("0"), None), Outcome::Paused { secs: 1 });
            let year = Some("31536000");
            assert_eq!(pause(year, None), Outcome::Paused { secs: 86_400 });
        }
        assert_eq!(
            outcome(429, b"", Some("2"), None),
            Outcome::Paused { secs: 2 }
        );
    }

    #[test]
    fn idempotency_conflicts() {
        let reused = error(409, "invalid_idempotent_request");
        assert_eq!(outcome(409, &reused, None, None), Outcome::AlreadySent);
        let concurrent = error(409, "concurrent_idempotent_requests");
        assert_eq!(outcome(409, &concurrent, None, None), Outcome::InFlight);
        assert!(matches!(
            outcome(409, &error(409, "something_new"), None, None),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            outcome(409, b"", None, None),
            Outcome::Retry { .. }
        ));
    }

    #[test]
    fn server_errors_and_unknown_answers_retry_without_the_message() {
        assert_eq!(
            outcome(503, &error(503, "internal_server_error"), None, None),
            Outcome::Retry {
                reason: "HTTP 503 (internal_server_error)".into()
            }
        );
        assert_eq!(
            outcome(502, b"<html>Bad gateway</html>", None, None),
            Outcome::Retry {
                reason: "HTTP 502 without Resend's error body".into()
            }
        );
        assert!(matches!(
            outcome(418, b"{}", None, None),
            Outcome::Retry { .. }
        ));
    }

    #[test]
    fn idempotency_keys_name_the_delivery() {
        let id = "0b7c5c1e-6c61-4d8e-9a57-3c2f8c1d2e3f";
        let key = idempotency_key(id);
        assert_eq!(key, format!("mail-{id}"));
        assert!(key.len() <= IDEMPOTENCY_KEY_MAX);
    }
}
