//! What a transactional mail says, as pure functions (docs/decisions/0005,
//! §2): a [`MailKind`] and the [`Facts`] the database gathered become a
//! subject, a plain-text body and an HTML body ([`render`]). The provider's
//! wire format is elsewhere (`platform_core::resend`); nothing here sends.
//!
//! Rendering is deterministic: the same kind, facts and shop URL give the
//! same bytes, so every retry of a delivery sends the same body under the
//! same idempotency key.
//!
//! The text and the HTML say the same thing, paragraph for paragraph. The
//! HTML is one self-contained page: inline styles only, no images, no
//! external resources; every value from the facts is escaped.
//!
//! Neither [`Facts`] nor [`Rendered`] prints an address, a link or a body
//! in `Debug`, and [`MailError`] carries no data: logs stay free of them.

use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::account::OAuthProvider;

/// The first retry's delay; each failed attempt doubles it.
pub const RETRY_BASE_SECS: u32 = 30;
/// No retry waits longer (a transient failure is never given up).
pub const RETRY_MAX_SECS: u32 = 1800;

/// What a mail is about: the `mail_deliveries.kind` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// `order.created`: the items, their names and the total.
    OrderPlaced,
    /// `payment.updated` → `paid`.
    OrderPaid,
    /// `payment.updated` → `failed`.
    OrderFailed,
    /// `payment.updated` → `expired`.
    OrderExpired,
    /// `payment.updated` → `cancelled`.
    OrderCancelled,
    /// `payment.refund_required`: money arrived for an order that had ended.
    RefundRequired,
    /// An email-verification link.
    VerifyEmail,
    /// A password-reset link.
    ResetPassword,
    /// The password was reset or changed; every session was signed out.
    PasswordChanged,
    /// A provider sign-in proved the address of an unverified account, and
    /// the password someone had set on it was removed.
    PasswordRemoved,
}

impl MailKind {
    /// Every kind, in declaration order.
    pub const ALL: [MailKind; 10] = [
        MailKind::OrderPlaced,
        MailKind::OrderPaid,
        MailKind::OrderFailed,
        MailKind::OrderExpired,
        MailKind::OrderCancelled,
        MailKind::RefundRequired,
        MailKind::VerifyEmail,
        MailKind::ResetPassword,
        MailKind::PasswordChanged,
        MailKind::PasswordRemoved,
    ];

    /// The `mail_deliveries.kind` value (also the provider's `kind` tag).
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::OrderPlaced => "order_placed",
            MailKind::OrderPaid => "order_paid",
            MailKind::OrderFailed => "order_failed",
            MailKind::OrderExpired => "order_expired",
            MailKind::OrderCancelled => "order_cancelled",
            MailKind::RefundRequired => "refund_required",
            MailKind::VerifyEmail => "verify_email",
            MailKind::ResetPassword => "reset_password",
            MailKind::PasswordChanged => "password_changed",
            MailKind::PasswordRemoved => "password_removed",
        }
    }

    /// The inverse of [`MailKind::as_str`]; anything else is `None`.
    pub fn parse(text: &str) -> Option<MailKind> {
        MailKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether [`render`] needs `order` in the facts.
    pub fn needs_order(self) -> bool {
        matches!(
            self,
            MailKind::OrderPlaced
                | MailKind::OrderPaid
                | MailKind::OrderFailed
                | MailKind::OrderExpired
                | MailKind::OrderCancelled
                | MailKind::RefundRequired
        )
    }

    /// Whether [`render`] needs `link` and `ttl_secs` in the facts.
    pub fn needs_link(self) -> bool {
        matches!(self, MailKind::VerifyEmail | MailKind::ResetPassword)
    }
}

/// What the database knows about one mail, as the claiming SQL builds it
/// (`json_build_object`/`jsonb_build_object`). Every field may be `null` or
/// absent; what a kind needs is checked by [`render`]. Unknown fields are
/// ignored.
///
/// ```json
/// {
///   "to": "ana@example.com",
///   "name": "Ana",
///   "order": {
///     "id": 12,
///     "total": 150000,
///     "currency": "IDR",
///     "items": [{"product_name": "Kopi", "quantity": 2, "price": 50000}]
///   },
///   "link": "https://shop.example/app/verify-email#token=…",
///   "ttl_secs": 86400,
///   "provider": "google"
/// }
/// ```
///
/// - `to`: the account's address (`users.email`); `null` or blank: the
///   mail cannot go out ([`MailError::NoAddress`], end reason `no_address`).
/// - `name`: `users.full_name`. Shown only in order mails; account mails
///   never show it (whoever squatted an address chose it).
/// - `order`: order kinds only ([`MailKind::needs_order`]), else `null`.
///   `id` is `orders.id`; `total` is `orders.total_price` in whole rupiah;
///   `currency` may be left out (only `"IDR"` exists: IDR has no minor
///   unit); `items` are the `order_items` with `products.name` as
///   `product_name`, `quantity`, and `price` the unit price at order time
///   (a line shows price × quantity). `items` may be `null` or absent
///   (`json_agg` over no rows); order them in SQL (by product id).
/// - `link`: verify/reset kinds only: the whole `https://` (or `http://`)
///   URL with the token in its fragment, built by the mail worker, never by
///   SQL (the token exists only in the worker's memory).
/// - `ttl_secs`: with `link`: how long the link lasts (`email_verify_ttl_secs`
///   or `password_reset_ttl_secs`), said in words ("24 hours").
/// - `provider`: `password_removed` only: the provider whose sign-in proved
///   the address (`google`, `github`, `facebook`); otherwise the mail says
///   "a sign-in provider".
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Facts {
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub order: Option<OrderFacts>,
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub ttl_secs: Option<u64>,
    #[serde(default)]
    pub provider: Option<String>,
}

/// An order as a mail shows it (see [`Facts`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct OrderFacts {
    pub id: i64,
    /// Whole rupiah.
    pub total: i64,
    /// `None` or `"IDR"`.
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub items: Vec<ItemFacts>,
}

/// One order line: `price` is the unit price in whole rupiah.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ItemFacts {
    pub product_name: String,
    pub quantity: i64,
    pub price: i64,
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ItemFacts>, D::Error> {
    Ok(Option::<Vec<ItemFacts>>::deserialize(d)?.unwrap_or_default())
}

impl Facts {
    /// Reads the facts the SQL built. A malformed object is
    /// [`MailError::BadFacts`] (the parser's text is dropped: it can quote
    /// the address).
    pub fn from_json(json: &[u8]) -> Result<Facts, MailError> {
        serde_json::from_slice(json).map_err(|_| MailError::BadFacts)
    }

    /// The trimmed address, or `None` when there is none to send to.
    pub fn address(&self) -> Option<&str> {
        self.to.as_deref().map(str::trim).filter(|a| !a.is_empty())
    }
}

/// Never prints the address, the name or the link.
impl fmt::Debug for Facts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Facts")
            .field("to", &redacted(&self.to))
            .field("name", &redacted(&self.name))
            .field("order", &self.order.as_ref().map(|o| o.id))
            .field("link", &redacted(&self.link))
            .field("ttl_secs", &self.ttl_secs)
            .field("provider", &self.provider)
            .finish()
    }
}

/// A mail ready for the provider: the same words as text and as HTML.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Never prints the bodies (they can hold a link).
impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rendered")
            .field("subject", &self.subject)
            .field("text_bytes", &self.text.len())
            .field("html_bytes", &self.html.len())
            .finish()
    }
}

/// Why the facts cannot make a mail. None is transient: the same facts
/// always fail the same way. No variant carries data, so each is safe to
/// log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailError {
    /// The facts are not the documented JSON object.
    BadFacts,
    /// `to` is null or blank: the account has no address.
    NoAddress,
    /// An order kind without `order`.
    MissingOrder,
    /// A verify/reset kind without `link`.
    MissingLink,
    /// A verify/reset kind without a positive `ttl_secs`.
    MissingTtl,
    /// `link` is not an `http(s)://` URL without spaces or controls.
    BadLink,
    /// The shop URL is set but is not an `http(s)://` URL.
    BadShopUrl,
    /// An order in a currency other than IDR.
    UnsupportedCurrency,
}

impl MailError {
    /// A short snake_case name, for an end reason or a log field
    /// (`NoAddress` is the design's `no_address`).
    pub fn reason(self) -> &'static str {
        match self {
            MailError::BadFacts => "bad_facts",
            MailError::NoAddress => "no_address",
            MailError::MissingOrder => "missing_order",
            MailError::MissingLink => "missing_link",
            MailError::MissingTtl => "missing_ttl",
            MailError::BadLink => "bad_link",
            MailError::BadShopUrl => "bad_shop_url",
            MailError::UnsupportedCurrency => "unsupported_currency",
        }
    }
}

impl fmt::Display for MailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            MailError::BadFacts => "the mail's facts are malformed",
            MailError::NoAddress => "the account has no email address",
            MailError::MissingOrder => "an order mail needs its order",
            MailError::MissingLink => "a link mail needs its link",
            MailError::MissingTtl => "a link mail needs the link's lifetime",
            MailError::BadLink => "the link is not an http(s) URL",
            MailError::BadShopUrl => "the shop URL is not an http(s) URL",
            MailError::UnsupportedCurrency => "only IDR amounts can be shown",
        };
        f.write_str(text)
    }
}

impl std::error::Error for MailError {}

/// The delay before the next attempt after `attempts` failed ones:
/// min(30 s · 2^attempts, 30 min), without overflow for any `attempts`.
pub fn retry_delay_secs(attempts: u32) -> u32 {
    1u32.checked_shl(attempts)
        .and_then(|factor| factor.checked_mul(RETRY_BASE_SECS))
        .map_or(RETRY_MAX_SECS, |delay| delay.min(RETRY_MAX_SECS))
}

/// Whole rupiah as the storefront shows them (`Intl.NumberFormat('id-ID',
/// {currency: 'IDR', maximumFractionDigits: 0})`): "Rp 150.000".
pub fn rupiah(amount: i64) -> String {
    money(i128::from(amount))
}

fn money(amount: i128) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}Rp {grouped}")
}

/// A link's lifetime in words: "24 hours", "30 minutes", "2 days". Never
/// more than the real lifetime (odd values round down to whole minutes).
pub fn human_duration(secs: u64) -> String {
    let (n, unit) = if secs >= 2 * 86_400 && secs.is_multiple_of(86_400) {
        (secs / 86_400, "day")
    } else if secs >= 3_600 && secs.is_multiple_of(3_600) {
        (secs / 3_600, "hour")
    } else if secs >= 60 {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    let plural = if n == 1 { "" } else { "s" };
    format!("{n} {unit}{plural}")
}

/// One piece of a mail, written the same way into the text and the HTML.
enum Block {
    Para(String),
    /// An introduction ("…:") and the URL on its own line.
    Link {
        intro: String,
        url: String,
    },
    /// Order lines and the total.
    Items {
        lines: Vec<String>,
        total: String,
    },
}

/// Renders `kind` from `facts`. `shop_url` is the storefront's public URL
/// (`storefront_url`, a trailing `/` is ignored); empty in an API-only
/// deployment, and then the mails carry no link to the shop.
pub fn render(kind: MailKind, facts: &Facts, shop_url: &str) -> Result<Rendered, MailError> {
    facts.address().ok_or(MailError::NoAddress)?;
    let shop = shop_url.trim().trim_end_matches('/');
    if !shop.is_empty() && !web_url(shop) {
        return Err(MailError::BadShopUrl);
    }
    let shop = (!shop.is_empty()).then_some(shop);
    let (subject, blocks) = if kind.needs_order() {
        let order = facts.order.as_ref().ok_or(MailError::MissingOrder)?;
        order_mail(kind, order, facts.name.as_deref(), shop)?
    } else if kind.needs_link() {
        let link = facts.link.as_deref().ok_or(MailError::MissingLink)?;
        if !web_url(link) {
            return Err(MailError::BadLink);
        }
        let ttl = facts
            .ttl_secs
            .filter(|t| *t > 0)
            .ok_or(MailError::MissingTtl)?;
        link_mail(kind, link, &human_duration(ttl))
    } else {
        password_mail(kind, facts.provider.as_deref(), shop)
    };
    Ok(Rendered {
        text: text_body(&blocks),
        html: html_body(&subject, &blocks),
        subject,
    })
}

fn order_mail(
    kind: MailKind,
    order: &OrderFacts,
    name: Option<&str>,
    shop: Option<&str>,
) -> Result<(String, Vec<Block>), MailError> {
    if order
        .currency
        .as_deref()
        .is_some_and(|c| !c.trim().eq_ignore_ascii_case("IDR"))
    {
        return Err(MailError::UnsupportedCurrency);
    }
    let id = order.id;
    let total = rupiah(order.total);
    let name = name.map(one_line).filter(|n| !n.is_empty());
    let mut blocks = vec![Block::Para(match name {
        Some(name) => format!("Hello {name},"),
        None => "Hello,".to_string(),
    })];
    let items = || Block::Items {
        lines: order
            .items
            .iter()
            .map(|item| {
                let line = i128::from(item.price) * i128::from(item.quantity);
                format!(
                    "{} × {}: {}",
                    item.quantity,
                    one_line(&item.product_name),
                    money(line)
                )
            })
            .collect(),
        total: format!("Total: {total}"),
    };
    let subject = match kind {
        MailKind::OrderPlaced => {
            blocks.push(Block::Para(format!(
                "Thank you for your order #{id}. Here is what you ordered:"
            )));
            blocks.push(items());
            blocks.push(Block::Para(
                "We keep these items for you while you pay. An order that is not paid \
                 in time expires."
                    .to_string(),
            ));
            format!("Order #{id} received")
        }
        MailKind::OrderPaid => {
            blocks.push(Block::Para(format!(
                "We received your payment of {total} for order #{id}. Thank you!"
            )));
            blocks.push(items());
            format!("Order #{id} is paid")
        }
        MailKind::OrderFailed => {
            blocks.push(Block::Para(format!(
                "The payment of {total} for order #{id} did not go through, so the order \
                 is closed and its items are back in the shop. You can order again at any time."
            )));
            format!("Payment for order #{id} failed")
        }
        MailKind::OrderExpired => {
            blocks.push(Block::Para(format!(
                "Order #{id} ({total}) was not paid in time, so it is closed and its items \
                 are back in the shop. You can order again at any time."
            )));
            format!("Order #{id} expired")
        }
        MailKind::OrderCancelled => {
            blocks.push(Block::Para(format!(
                "Order #{id} ({total}) was cancelled before it was paid. Nothing is owed for it."
            )));
            format!("Order #{id} is cancelled")
        }
        _ => {
            blocks.push(Block::Para(format!(
                "A payment of {total} for order #{id} reached us when the order no longer \
                 needed it (it had ended, or it was already paid), so it was not used. It is \
                 being refunded the way you paid; your bank or wallet may take a few days to \
                 show it."
            )));
            format!("Your payment for order #{id} is being refunded")
        }
    };
    if let Some(shop) = shop {
        blocks.push(Block::Link {
            intro: "See your order:".to_string(),
            url: format!("{shop}/app/orders/{id}"),
        });
    }
    Ok((subject, blocks))
}

fn link_mail(kind: MailKind, link: &str, lasts: &str) -> (String, Vec<Block>) {
    let (subject, intro, before, after) = if kind == MailKind::VerifyEmail {
        (
            "Confirm your email address",
            "Please confirm that this email address is yours by opening this link:",
            "",
            "nothing changes until the link is opened.",
        )
    } else {
        (
            "Reset your password",
            "Someone asked to reset the password of the account that uses this email \
             address. To choose a new password, open this link:",
            " Setting a new password signs out every device.",
            "your password stays as it is.",
        )
    };
    let blocks = vec![
        Block::Para("Hello,".to_string()),
        Block::Link {
            intro: intro.to_string(),
            url: link.to_string(),
        },
        Block::Para(format!("The link works once, for {lasts}.{before}")),
        Block::Para(format!(
            "If you did not ask for this, ignore this mail: {after}"
        )),
    ];
    (subject.to_string(), blocks)
}

fn password_mail(
    kind: MailKind,
    provider: Option<&str>,
    shop: Option<&str>,
) -> (String, Vec<Block>) {
    let mut blocks = vec![Block::Para("Hello,".to_string())];
    let sign_in = |intro: &str| match shop {
        Some(shop) => Block::Link {
            intro: format!("{intro}:"),
            url: format!("{shop}/app/login"),
        },
        None => Block::Para(format!("{intro}.")),
    };
    let subject = if kind == MailKind::PasswordChanged {
        blocks.push(Block::Para(
            "The password of your account was just changed, and every session signed in \
             before the change was signed out."
                .to_string(),
        ));
        blocks.push(sign_in(
            "If you did not do this, set a new password now with \"Forgot password\" on \
             the sign-in page",
        ));
        "Your password was changed"
    } else {
        let provider = provider
            .and_then(|p| OAuthProvider::parse(p).ok())
            .map_or("a sign-in provider", OAuthProvider::title);
        blocks.push(Block::Para(format!(
            "A sign-in with {provider} just proved that this email address is yours."
        )));
        blocks.push(Block::Para(
            "Your account had a password that was set before the address was \
             confirmed, possibly by someone else. We removed that password and signed \
             out every session."
                .to_string(),
        ));
        blocks.push(sign_in(&format!(
            "You can keep signing in with {provider}. To set a password, use \
             \"Forgot password\" on the sign-in page"
        )));
        "The password of your account was removed"
    };
    (subject.to_string(), blocks)
}

/// A value from the facts on one line: controls and line breaks become
/// spaces, runs of white space one space, and invisible direction or
/// zero-width marks go (a name cannot lay out text of its own).
fn one_line(value: &str) -> String {
    value
        .split(|c: char| c.is_whitespace() || c.is_control())
        .map(|word| word.chars().filter(|c| !invisible(*c)).collect::<String>())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Zero-width and bidirectional formatting marks.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// An absolute `http(s)` URL without white space or controls.
fn web_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty()
            && !r.starts_with('/')
            && !r.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

fn text_body(blocks: &[Block]) -> String {
    let parts: Vec<String> = blocks
        .iter()
        .map(|block| match block {
            Block::Para(p) => p.clone(),
            Block::Link { intro, url } => format!("{intro}\n{url}"),
            Block::Items { lines, total } => {
                let mut out = String::new();
                for line in lines {
                    out.push_str("- ");
                    out.push_str(line);
                    out.push('\n');
                }
                out.push_str(total);
                out
            }
        })
        .collect();
    let mut text = parts.join("\n\n");
    text.push('\n');
    text
}

fn html_body(subject: &str, blocks: &[Block]) -> String {
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n</head>\n\
         <body style=\"margin: 0; padding: 16px; font-family: sans-serif; font-size: 16px; \
         line-height: 1.5; color: #222222; background: #ffffff;\">\n",
        escape(subject)
    );
    for block in blocks {
        match block {
            Block::Para(p) => html.push_str(&format!("<p>{}</p>\n", escape(p))),
            Block::Link { intro, url } => {
                let url = escape(url);
                html.push_str(&format!(
                    "<p>{}<br>\n<a href=\"{url}\" style=\"color: #0b57d0; word-break: break-all;\">{url}</a></p>\n",
                    escape(intro)
                ));
            }
            Block::Items { lines, total } => {
                html.push_str("<ul>\n");
                for line in lines {
                    html.push_str(&format!("<li>{}</li>\n", escape(line)));
                }
                html.push_str(&format!(
                    "</ul>\n<p><strong>{}</strong></p>\n",
                    escape(total)
                ));
            }
        }
    }
    html.push_str("</body>\n</html>\n");
    html
}

/// Escapes text for HTML content and quoted attribute values.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = "https://shop.example";

    fn order() -> OrderFacts {
        OrderFacts {
            id: 12,
            total: 150_000,
            currency: Some("IDR".into()),
            items: vec![
                ItemFacts {
                    product_name: "Kopi Susu".into(),
                    quantity: 2,
                    price: 50_000,
                },
                ItemFacts {
                    product_name: "Teh".into(),
                    quantity: 1,
                    price: 50_000,
                },
            ],
        }
    }

    fn facts(kind: MailKind) -> Facts {
        let mut f = Facts {
            to: Some("ana@example.com".into()),
            name: Some("Ana".into()),
            ..Facts::default()
        };
        if kind.needs_order() {
            f.order = Some(order());
        }
        match kind {
            MailKind::VerifyEmail => {
                f.link = Some(format!("{SHOP}/app/verify-email#token=abc_-123"));
                f.ttl_secs = Some(86_400);
            }
            MailKind::ResetPassword => {
                f.link = Some(format!("{SHOP}/app/reset-password#token=abc_-123"));
                f.ttl_secs = Some(1_800);
            }
            MailKind::PasswordRemoved => f.provider = Some("google".into()),
            _ => {}
        }
        f
    }

    fn unescape(s: &str) -> String {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    /// The HTML's visible text: tags dropped, entities decoded, lines joined.
    fn visible(html: &str) -> String {
        let body = html.split_once("<body").unwrap().1;
        let body = body.split_once('>').unwrap().1;
        let mut out = String::new();
        let mut in_tag = false;
        for c in body.chars() {
            match c {
                '<' => in_tag = true,
                '>' => {
                    in_tag = false;
                    out.push(' ');
                }
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        one_line(&unescape(&out))
    }

    #[test]
    fn every_kind_renders_and_says_the_same_in_text_and_html() {
        for kind in MailKind::ALL {
            let mail = render(kind, &facts(kind), SHOP).unwrap();
            assert!(!mail.subject.is_empty(), "{kind:?}");
            assert!(!mail.subject.contains('\n'), "{kind:?}");
            assert!(mail.text.ends_with('\n'));
            assert!(mail.html.starts_with("<!DOCTYPE html>"));
            let shown = visible(&mail.html);
            for line in mail.text.lines().filter(|l| !l.trim().is_empty()) {
                let line = one_line(line.trim_start_matches("- "));
                assert!(shown.contains(&line), "{kind:?}: {line:?} not in {shown:?}");
            }
            // Nothing external, nothing active.
            for banned in ["<img", "src=", "<script", "http://", "<link", "url("] {
                assert!(!mail.html.contains(banned), "{kind:?}: {banned}");
            }
            // Deterministic: a retry sends the same bytes.
            assert_eq!(mail, render(kind, &facts(kind), SHOP).unwrap());
        }
    }

    #[test]
    fn order_mails_show_the_order_and_link_to_its_page() {
        for kind in MailKind::ALL.into_iter().filter(|k| k.needs_order()) {
            let mail = render(kind, &facts(kind), "https://shop.example/").unwrap();
            assert!(mail.subject.contains("#12"), "{kind:?}");
            assert!(mail.text.contains("Hello Ana,"), "{kind:?}");
            assert!(mail.text.contains("Rp 150.000"), "{kind:?}");
            let url = "https://shop.example/app/orders/12";
            assert!(mail.text.contains(url), "{kind:?}");
            assert!(mail.html.contains(&format!("href=\"{url}\"")), "{kind:?}");
        }
        let placed = render(MailKind::OrderPlaced, &facts(MailKind::OrderPlaced), SHOP).unwrap();
        assert!(placed.text.contains("- 2 × Kopi Susu: Rp 100.000\n"));
        assert!(placed.text.contains("- 1 × Teh: Rp 50.000\n"));
        assert!(placed.text.contains("Total: Rp 150.000"));
        assert!(placed.html.contains("<li>2 × Kopi Susu: Rp 100.000</li>"));
    }

    #[test]
    fn without_a_shop_url_order_mails_carry_no_link() {
        let kind = MailKind::OrderPaid;
        let mail = render(kind, &facts(kind), "").unwrap();
        assert!(!mail.text.contains("/app/orders"));
        assert!(!mail.html.contains("href"));
        let changed = render(
            MailKind::PasswordChanged,
            &facts(MailKind::PasswordChanged),
            " ",
        )
        .unwrap();
        assert!(changed
            .text
            .contains("\"Forgot password\" on the sign-in page."));
        assert_eq!(
            render(kind, &facts(kind), "javascript:alert(1)"),
            Err(MailError::BadShopUrl)
        );
    }

    #[test]
    fn user_strings_are_escaped_in_html() {
        let evil = "<script>alert('x')</script>&\"";
        for kind in MailKind::ALL {
            let mut f = facts(kind);
            f.name = Some(evil.into());
            if let Some(o) = f.order.as_mut() {
                o.items[0].product_name = evil.into();
            }
            let mail = render(kind, &f, SHOP).unwrap();
            assert!(!mail.html.contains("<script"), "{kind:?}");
            assert!(!mail.html.contains("alert('x')"), "{kind:?}");
            if kind.needs_order() {
                assert!(
                    mail.html
                        .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"),
                    "{kind:?}"
                );
            }
        }
        let mut f = facts(MailKind::VerifyEmail);
        f.link = Some(format!("{SHOP}/app/verify-email#token=a\"><b>"));
        let mail = render(MailKind::VerifyEmail, &f, SHOP).unwrap();
        assert!(mail.html.contains("#token=a&quot;&gt;&lt;b&gt;\""));
        assert!(!mail.html.contains("<b>"));
    }

    #[test]
    fn names_cannot_lay_out_text() {
        let kind = MailKind::OrderPaid;
        let mut f = facts(kind);
        f.name = Some("Ana\n\nYour account is locked:\r\n call\u{202E}us \t now".into());
        let mail = render(kind, &f, SHOP).unwrap();
        assert!(mail
            .text
            .starts_with("Hello Ana Your account is locked: callus now,\n\n"));
        f.name = Some(" \n ".into());
        assert!(render(kind, &f, SHOP).unwrap().text.starts_with("Hello,\n"));
    }

    #[test]
    fn account_mails_never_show_the_name() {
        for kind in MailKind::ALL.into_iter().filter(|k| !k.needs_order()) {
            let mut f = facts(kind);
            f.name = Some("Call +1 555 0100 now".into());
            let mail = render(kind, &f, SHOP).unwrap();
            assert!(!mail.text.contains("555"), "{kind:?}");
            assert!(!mail.html.contains("555"), "{kind:?}");
            assert!(mail.text.starts_with("Hello,\n"), "{kind:?}");
        }
    }

    #[test]
    fn link_mails_carry_the_link_its_lifetime_and_the_ignore_note() {
        for (kind, lasts) in [
            (MailKind::VerifyEmail, "24 hours"),
            (MailKind::ResetPassword, "30 minutes"),
        ] {
            let f = facts(kind);
            let link = f.link.clone().unwrap();
            let mail = render(kind, &f, SHOP).unwrap();
            for body in [&mail.text, &mail.html] {
                assert!(body.contains(&link), "{kind:?}");
                assert!(body.contains(&format!("for {lasts}")), "{kind:?}");
                assert!(
                    body.contains("If you did not ask for this, ignore this mail"),
                    "{kind:?}"
                );
            }
            assert!(mail.html.contains(&format!("href=\"{link}\"")));
        }
    }

    #[test]
    fn link_mails_need_a_usable_link_and_lifetime() {
        for kind in [MailKind::VerifyEmail, MailKind::ResetPassword] {
            let mut f = facts(kind);
            f.link = None;
            assert_eq!(render(kind, &f, SHOP), Err(MailError::MissingLink));
            for bad in [
                "javascript:alert(1)",
                "/app/verify-email#token=x",
                "https://",
                "https://a b",
                "https:///x",
            ] {
                let mut f = facts(kind);
                f.link = Some(bad.into());
                assert_eq!(render(kind, &f, SHOP), Err(MailError::BadLink), "{bad}");
            }
            for ttl in [None, Some(0)] {
                let mut f = facts(kind);
                f.ttl_secs = ttl;
                assert_eq!(render(kind, &f, SHOP), Err(MailError::MissingTtl));
            }
        }
    }

    #[test]
    fn order_mails_need_an_order_in_rupiah() {
        for kind in MailKind::ALL.into_iter().filter(|k| k.needs_order()) {
            let mut f = facts(kind);
            f.order = None;
            assert_eq!(render(kind, &f, SHOP), Err(MailError::MissingOrder));
            let mut f = facts(kind);
            f.order.as_mut().unwrap().currency = Some("USD".into());
            assert_eq!(render(kind, &f, SHOP), Err(MailError::UnsupportedCurrency));
            f.order.as_mut().unwrap().currency = None;
            assert!(render(kind, &f, SHOP).is_ok());
        }
    }

    #[test]
    fn no_address_no_mail() {
        for kind in MailKind::ALL {
            for to in [None, Some(""), Some("  ")] {
                let mut f = facts(kind);
                f.to = to.map(String::from);
                assert_eq!(render(kind, &f, SHOP), Err(MailError::NoAddress));
            }
        }
        assert_eq!(MailError::NoAddress.reason(), "no_address");
    }

    #[test]
    fn password_mails_say_what_happened() {
        let removed = render(
            MailKind::PasswordRemoved,
            &facts(MailKind::PasswordRemoved),
            SHOP,
        )
        .unwrap();
        for phrase in [
            "A sign-in with Google just proved that this email address is yours.",
            "possibly by someone else",
            "We removed that password",
            "\"Forgot password\"",
            "https://shop.example/app/login",
        ] {
            assert!(removed.text.contains(phrase), "{phrase}");
        }
        let mut f = facts(MailKind::PasswordRemoved);
        f.provider = None;
        let generic = render(MailKind::PasswordRemoved, &f, SHOP).unwrap();
        assert!(generic.text.contains("A sign-in with a sign-in provider"));
        let changed = render(
            MailKind::PasswordChanged,
            &facts(MailKind::PasswordChanged),
            SHOP,
        )
        .unwrap();
        assert!(changed.text.contains("was just changed"));
        assert!(changed.text.contains("https://shop.example/app/login"));
    }

    #[test]
    fn facts_read_the_documented_json() {
        let f = Facts::from_json(
            br#"{"to": "ana@example.com", "name": "Ana",
                 "order": {"id": 12, "total": 150000, "currency": "IDR",
                           "items": [{"product_name": "Kopi", "quantity": 2, "price": 50000}]},
                 "link": null, "ttl_secs": null, "extra": 1}"#,
        )
        .unwrap();
        assert_eq!(f.address(), Some("ana@example.com"));
        let o = f.order.as_ref().unwrap();
        assert_eq!((o.id, o.total, o.items.len()), (12, 150_000, 1));
        assert_eq!(o.items[0].product_name, "Kopi");
        let bare =
            Facts::from_json(br#"{"to": "a@b.c", "order": {"id": 1, "total": 0, "items": null}}"#)
                .unwrap();
        assert!(bare.order.unwrap().items.is_empty());
        let link = Facts::from_json(
            br#"{"to": "a@b.c", "name": null, "order": null, "link": "https://x.y/z", "ttl_secs": 1800}"#,
        )
        .unwrap();
        assert_eq!(link.ttl_secs, Some(1800));
        for bad in [
            &b"42"[..],
            b"{\"to\": 1}",
            b"{\"order\": {\"id\": 1}}",
            b"nope",
        ] {
            assert_eq!(Facts::from_json(bad), Err(MailError::BadFacts));
        }
    }

    #[test]
    fn debug_hides_addresses_links_and_bodies() {
        let f = facts(MailKind::VerifyEmail);
        let shown = format!("{f:?}");
        assert!(!shown.contains("ana@example.com"));
        assert!(!shown.contains("token"));
        assert!(!shown.contains("Ana"));
        let mail = render(MailKind::VerifyEmail, &f, SHOP).unwrap();
        let shown = format!("{mail:?}");
        assert!(!shown.contains("token"));
        assert!(shown.contains("Confirm your email address"));
    }

    #[test]
    fn kinds_round_trip() {
        let names: Vec<&str> = MailKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "order_placed",
                "order_paid",
                "order_failed",
                "order_expired",
                "order_cancelled",
                "refund_required",
                "verify_email",
                "reset_password",
                "password_changed",
                "password_removed"
            ]
        );
        for kind in MailKind::ALL {
            assert_eq!(MailKind::parse(kind.as_str()), Some(kind));
        }
        for bad in ["", "order", "ORDER_PAID", "order_paid "] {
            assert_eq!(MailKind::parse(bad), None);
        }
    }

    #[test]
    fn retry_delays_double_then_cap() {
        let delays: Vec<u32> = (0..8).map(retry_delay_secs).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1800, 1800]);
        for attempts in [26, 27, 31, 32, 33, 64, u32::MAX] {
            assert_eq!(retry_delay_secs(attempts), RETRY_MAX_SECS, "{attempts}");
        }
    }

    #[test]
    fn money_is_whole_rupiah_like_the_storefront() {
        assert_eq!(rupiah(0), "Rp 0");
        assert_eq!(rupiah(999), "Rp 999");
        assert_eq!(rupiah(1_000), "Rp 1.000");
        assert_eq!(rupiah(25_000), "Rp 25.000");
        assert_eq!(rupiah(150_000), "Rp 150.000");
        assert_eq!(rupiah(1_000_000_000_000), "Rp 1.000.000.000.000");
        assert_eq!(rupiah(-5_000), "-Rp 5.000");
        assert_eq!(rupiah(i64::MIN), "-Rp 9.223.372.036.854.775.808");
        assert_eq!(
            money(i128::from(i64::MAX) * i128::from(i64::MAX)).len(),
            "Rp ".len() + 38 + 12
        );
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(human_duration(86_400), "24 hours");
        assert_eq!(human_duration(1_800), "30 minutes");
        assert_eq!(human_duration(3_600), "1 hour");
        assert_eq!(human_duration(172_800), "2 days");
        assert_eq!(human_duration(5_400), "90 minutes");
        assert_eq!(human_duration(90), "1 minute");
        assert_eq!(human_duration(59), "59 seconds");
        assert_eq!(human_duration(1), "1 second");
    }
}
