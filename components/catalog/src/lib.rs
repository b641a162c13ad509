//! The catalog service as a library component: it exports
//! `shop:platform/catalog` and is composed into `products-api` by Spin.

mod service;
mod store;

component_support::bindings!("catalog-service");

use component_support::catalog_cache::CachedProduct;
use component_support::wit::types::{Client, Error, PageRequest, TokenBucket};
use exports::shop::platform::catalog::{CreatedProduct, Guest, Product, ProductInput, ProductPage};
use platform_core::product::{NewProduct, ProductFields, ProductId};
use platform_core::ServiceError;

struct Catalog;

/// A product row (or its cache entry, the same shape) as the WIT record.
impl From<CachedProduct> for Product {
    fn from(c: CachedProduct) -> Product {
        Product {
            id: c.id,
            name: c.name,
            description: c.description,
            price: c.price,
            stock: c.stock,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// The service checks its own input: callers other than the HTTP edge exist.
fn checked(input: ProductInput) -> Result<NewProduct, ServiceError> {
    NewProduct::parse(ProductFields {
        name: input.name,
        description: Some(input.description),
        price: input.price,
        stock: i64::from(input.stock),
    })
}

impl Guest for Catalog {
    fn list_products(page: PageRequest, client: Option<Client>) -> Result<ProductPage, Error> {
        Ok(service::list(page, client.as_ref())?)
    }

    fn get_product(id: i64) -> Result<Product, Error> {
        Ok(service::get(ProductId::new(id)?)?)
    }

    fn create_product(
        input: ProductInput,
        limit: Option<TokenBucket>,
    ) -> Result<CreatedProduct, Error> {
        Ok(service::create(&checked(input)?, limit.as_ref())?)
    }

    fn update_product(id: i64, input: ProductInput) -> Result<Product, Error> {
        Ok(service::update(ProductId::new(id)?, &checked(input)?)?)
    }

    fn delete_product(id: i64) -> Result<(), Error> {
        Ok(service::delete(ProductId::new(id)?)?)
    }
}

export!(Catalog);
