//! The mail worker's settings (Spin variables). An idle wake reads only the
//! database URL; the provider's settings are read when there is mail.

use platform_core::setting::{Int, Secret, Text};

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

/// The key verify and reset links are derived from (`auth_core::link`);
/// only this component reads it.
pub const MAIL_LINK_SECRET: Secret = Secret {
    name: "mail_link_secret",
};

/// Link lifetimes, from the first mailing.
pub const EMAIL_VERIFY_TTL_SECS: Int = Int {
    name: "email_verify_ttl_secs",
    default: 86_400,
    min: 60,
    max: 30 * 86_400,
};
pub const PASSWORD_RESET_TTL_SECS: Int = Int {
    name: "password_reset_ttl_secs",
    default: 1_800,
    min: 60,
    max: 86_400,
};
