//! The JSON bodies of the account routes (API.md), from the users service's
//! records.

use serde::Serialize;

use crate::shop::platform::users::{Session, TokenPair};
use edge::bodies::UserJson;

/// `{"token", "refresh_token"}`: the tokens bare, no `Bearer ` prefix.
#[derive(Serialize)]
pub struct TokensBody {
    token: String,
    refresh_token: String,
}

impl From<TokenPair> for TokensBody {
    fn from(t: TokenPair) -> TokensBody {
        TokensBody {
            token: t.access_token,
            refresh_token: t.refresh_token,
        }
    }
}

/// `{"token", "refresh_token", "user"}`
#[derive(Serialize)]
pub struct SessionBody {
    #[serde(flatten)]
    tokens: TokensBody,
    user: UserJson,
}

impl From<Session> for SessionBody {
    fn from(s: Session) -> SessionBody {
        SessionBody {
            tokens: s.tokens.into(),
            user: s.user.into(),
        }
    }
}

#[derive(Serialize)]
pub struct Message {
    pub message: &'static str,
}

/// `{"url": "<provider authorize URL>"}`
#[derive(Serialize)]
pub struct AuthorizeUrl {
    pub url: String,
}
