//! The users service as a library component: it exports
//! `shop:platform/users` and is composed into `accounts-api` by Spin.

mod admin;
mod links;
mod oauth;
mod service;
mod settings;
mod store;

component_support::bindings!(operator "users-service");

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

    fn verify_email(token: String) -> Result<(), Error> {
        Ok(links::verify_email(&token)?)
    }

    fn request_verification(user_id: i64) -> Result<(), Error> {
        Ok(links::request_verification(user_id)?)
    }

    fn forgot_password(email: String) -> Result<(), Error> {
        Ok(links::forgot_password(&Email::parse(email)?)?)
    }

    fn reset_password(token: String, password: String) -> Result<String, Error> {
        Ok(links::reset_password(&token, &Password::parse(password)?)?)
    }

    fn change_password(
        user_id: i64,
        current_password: String,
        new_password: String,
    ) -> Result<TokenPair, Error> {
        Ok(links::change_password(
            user_id,
            &current_password,
            &Password::parse(new_password)?,
        )?)
    }
}

export!(Users);
