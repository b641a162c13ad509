//! The catalog service as a library component: it exports
//! `shop:platform/catalog` and is composed into the gateway by Spin.

mod cache_keys;
mod service;
mod store;

wit_bindgen::generate!({
    world: "catalog-service",
    path: "../../wit",
});

use exports::shop::platform::catalog::{Guest, Product, ProductInput, ProductPage};
use platform_core::{ApiError, ErrorKind};
use shop::platform::types::{Error, PageRequest};

struct Catalog;

impl Guest for Catalog {
    fn list_products(page: PageRequest) -> Result<ProductPage, Error> {
        service::list(page).map_err(to_wit)
    }

    fn get_product(id: i64) -> Result<Product, Error> {
        service::get(id).map_err(to_wit)
    }

    fn create_product(input: ProductInput) -> Result<Product, Error> {
        service::create(input).map_err(to_wit)
    }

    fn update_product(id: i64, input: ProductInput) -> Result<Product, Error> {
        service::update(id, input).map_err(to_wit)
    }

    fn delete_product(id: i64) -> Result<(), Error> {
        service::delete(id).map_err(to_wit)
    }
}

fn to_wit(e: ApiError) -> Error {
    match e.kind {
        ErrorKind::InvalidInput | ErrorKind::PayloadTooLarge | ErrorKind::UnsupportedMediaType => {
            Error::InvalidInput(e.message)
        }
        ErrorKind::Unauthenticated => Error::Unauthenticated(e.message),
        ErrorKind::Forbidden | ErrorKind::MethodNotAllowed => Error::Forbidden(e.message),
        ErrorKind::NotFound => Error::NotFound(e.message),
        ErrorKind::Conflict => Error::Conflict(e.message),
        ErrorKind::RateLimited => Error::RateLimited(e.message),
        ErrorKind::Unavailable => Error::Unavailable(e.message),
        ErrorKind::Internal => Error::Internal(e.message),
    }
}

export!(Catalog);
