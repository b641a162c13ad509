//! The mail worker's settings (Spin variables). An idle wake reads only the
//! database URL; the provider's settings are read when there is mail.

use platform_core::setting::{Secret, Text};

pub use platform_core::setting::DATABASE_URL;

/// Resend's API key (`re_…`); empty: mail is off and rows wait.
pub const RESEND_API_KEY: Secret = Secret {
    name: "resend_api_key",
};

/// `https://api.resend.com`, or the local mail sink.
pub const RESEND_API_BASE_URL: Text = Text {
    name: "resend_api_base_url",
};

/// The sender (`Shop <shop@your-domain>`), on a domain verified at Resend;
/// empty: rows wait.
pub const MAIL_FROM: Text = Text { name: "mail_from" };

/// The storefront's public URL: the base of the links in mails.
pub const STOREFRONT_URL: Text = Text {
    name: "storefront_url",
};
