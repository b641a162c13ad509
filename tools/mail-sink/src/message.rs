//! A mail as the sink keeps it, and Resend's retrieve shape of it.

use platform_core::resend::{SendEmail, Tag};
use serde::Serialize;
use serde_json::{json, Value};

use crate::links::links;

/// One accepted mail; serialized as an item of `GET /api/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub id: String,
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    /// The http(s) URLs of `text`, then `html`'s hrefs, in order, each once.
    pub links: Vec<String>,
    /// The value of the tag named `kind`.
    pub kind: Option<String>,
    pub tags: Vec<Tag>,
    pub reply_to: Option<Vec<String>>,
    pub idempotency_key: Option<String>,
    /// `2026-12-02T06:00:00.123Z`.
    pub received_at: String,
}

impl Message {
    pub(crate) fn new(
        id: String,
        mail: SendEmail,
        idempotency_key: Option<String>,
        received_at: String,
    ) -> Message {
        Message {
            links: links(mail.text.as_deref(), mail.html.as_deref()),
            kind: mail.tag("kind").map(str::to_string),
            id,
            from: mail.from,
            to: mail.to,
            subject: mail.subject,
            text: mail.text,
            html: mail.html,
            tags: mail.tags,
            reply_to: mail.reply_to,
            idempotency_key,
            received_at,
        }
    }

    /// Whether `address` (bare, any case) is among the recipients, written
    /// bare or as `Name <address>`.
    pub fn is_to(&self, address: &str) -> bool {
        self.to
            .iter()
            .any(|to| bare_address(to).eq_ignore_ascii_case(address.trim()))
    }

    /// `GET /emails/{id}`, as Resend answers it.
    pub(crate) fn retrieved(&self) -> Value {
        json!({
            "object": "email",
            "id": self.id,
            "to": self.to,
            "from": self.from,
            "created_at": self.received_at,
            "subject": self.subject,
            "html": self.html,
            "text": self.text,
            "bcc": null,
            "cc": null,
            "reply_to": self.reply_to,
            "last_event": "delivered",
        })
    }
}

/// `a@b.test` of `Name <a@b.test>` or of `a@b.test`.
pub(crate) fn bare_address(mailbox: &str) -> &str {
    let mailbox = mailbox.trim();
    match (mailbox.rfind('<'), mailbox.strip_suffix('>')) {
        (Some(open), Some(inner)) => inner[open + 1..].trim(),
        _ => mailbox,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_addresses() {
        assert_eq!(bare_address("Budi <budi@example.com>"), "budi@example.com");
        assert_eq!(bare_address(" budi@example.com "), "budi@example.com");
        assert_eq!(bare_address("\"A <b>\" <c@d.test>"), "c@d.test");
    }
}
