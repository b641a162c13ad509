//! The users service as a library component: it exports
//! `shop:platform/users` and is composed into `accounts-api` by Spin.

mod oauth;
mod service;
mod settings;
mod store;

component_support::bindings!("users-service");

use component_support::wit::types::Error;
use exports::shop::platform::users::{
    Guest, OauthProvider, Registration, Session, TokenPair, User,
};
use platform_core::account::{Email, FullName, Password};

struct Users;

impl Guest for Users {
    fn register(input: Registration) -> Result<User, Error> {
        // The service checks its own input: callers other than the edge exist.
        let registration = platform_core::account::Registration {
            full_name: FullName::parse(input.full_name)?,
            email: Email::parse(input.email)?,
            password: Password::parse(input.password)?,
        };
        Ok(service::register(&registration)?)
    }

    fn login(email: String, password: String) -> Result<Session, Error> {
        Ok(service::login(email, password)?)
    }

    fn refresh(refresh_token: String) -> Result<TokenPair, Error> {
        Ok(service::refresh(&refresh_token)?)
    }

    fn logout(refresh_token: String) -> Result<(), Error> {
        Ok(service::logout(&refresh_token)?)
    }

    fn oauth_authorize_url(provider: OauthProvider) -> Result<String, Error> {
        Ok(oauth::authorize_url(oauth::provider(provider))?)
    }

    fn oauth_callback(
        provider: OauthProvider,
        code: String,
        state: String,
    ) -> Result<Session, Error> {
        Ok(oauth::callback(oauth::provider(provider), &code, &state)?)
    }

    fn get_user(id: i64) -> Result<User, Error> {
        Ok(service::get(id)?)
    }
}

export!(Users);
