//! Resend's checks on a send body, with its error names: a missing field is
//! `missing_required_field`, a bad `from` is `invalid_from_address`, anything
//! else `validation_error` (all 422).

use platform_core::resend::{ErrorBody, SendEmail, MAX_RECIPIENTS};
use serde_json::Value;

use crate::message::bare_address;

const TAG_MAX: usize = 256;

fn refuse(name: &str, message: String) -> ErrorBody {
    ErrorBody::new(422, name, &message)
}

/// The mail, and its body as parsed JSON (what idempotency compares).
pub(crate) fn parse(body: &[u8]) -> Result<(SendEmail, Value), ErrorBody> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        refuse(
            "validation_error",
            format!("The body is not valid JSON: {e}"),
        )
    })?;
    let Some(fields) = value.as_object() else {
        return Err(refuse(
            "validation_error",
            "The body must be a JSON object.".into(),
        ));
    };
    let blank = |v: Option<&Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    };
    for field in ["from", "to", "subject"] {
        if blank(fields.get(field)) {
            return Err(refuse(
                "missing_required_field",
                format!("Missing `{field}` field."),
            ));
        }
    }
    if blank(fields.get("text")) && blank(fields.get("html")) {
        return Err(refuse(
            "missing_required_field",
            "Missing `html` or `text` field.".into(),
        ));
    }
    let mail: SendEmail = serde_json::from_value(value.clone())
        .map_err(|e| refuse("validation_error", format!("Invalid field: {e}")))?;
    check(&mail)?;
    Ok((mail, value))
}

fn check(mail: &SendEmail) -> Result<(), ErrorBody> {
    let format = "The email address needs to follow the `email@example.com` or \
                  `Name <email@example.com>` format.";
    if !valid_mailbox(&mail.from) {
        return Err(refuse(
            "invalid_from_address",
            format!("Invalid `from` field. {format}"),
        ));
    }
    if mail.to.len() > MAX_RECIPIENTS {
        return Err(refuse(
            "validation_error",
            format!("Too many recipients: `to` takes at most {MAX_RECIPIENTS} addresses."),
        ));
    }
    if !mail.to.iter().all(|to| valid_mailbox(to)) {
        return Err(refuse(
            "validation_error",
            format!("Invalid `to` field. {format}"),
        ));
    }
    let reply_to = mail.reply_to.as_deref().unwrap_or_default();
    if !reply_to.iter().all(|r| valid_mailbox(r)) {
        return Err(refuse(
            "validation_error",
            format!("Invalid `reply_to` field. {format}"),
        ));
    }
    let tag_text = |s: &str| {
        !s.is_empty()
            && s.len() <= TAG_MAX
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if !mail
        .tags
        .iter()
        .all(|t| tag_text(&t.name) && tag_text(&t.value))
    {
        return Err(refuse(
            "validation_error",
            "Tags should only contain ASCII letters, numbers, underscores, or dashes.".into(),
        ));
    }
    Ok(())
}

/// `a@b.test` or `Name <a@b.test>`: one `@`, a local part and a dotted
/// domain of letters, digits and hyphens.
fn valid_mailbox(mailbox: &str) -> bool {
    let mailbox = mailbox.trim();
    let address = bare_address(mailbox);
    if address.len() != mailbox.len() && !mailbox.ends_with('>') {
        return false;
    }
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && !local
            .chars()
            .any(|c| c.is_whitespace() || "<>@,;\"()[]\\".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes() {
        for good in [
            "shop@mail.dev.test",
            "Shop <shop@mail.dev.test>",
            "\"Shop, Inc.\" <shop@mail.dev.test>",
            "a.b+c@x-y.example.com",
        ] {
            assert!(valid_mailbox(good), "{good}");
        }
        for bad in [
            "",
            "shop",
            "shop@localhost",
            "shop@@x.test",
            "Shop <shop@x.test",
            "Shop shop@x.test",
            "<@x.test>",
            "a b@x.test",
            "a@x..test",
            "a@-x.test",
        ] {
            assert!(!valid_mailbox(bad), "{bad}");
        }
    }
}
