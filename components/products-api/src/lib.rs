//! The products route group: `/product` and `/product/{id}` over the catalog
//! service, which is composed into this component (and only this one).

mod bodies;

wit_bindgen::generate!({
    world: "products-api",
    path: "../../wit",
    with: { "shop:platform/types@0.1.0": component_support::wit::types },
});

use component_support::wit::types::{Client, PageRequest};
use edge::{auth, body, rate_limit, Context, Handler, HttpError, Reply};
use platform_core::page::Page;
use platform_core::product::{NewProduct, ProductFields, ProductId};
use platform_core::route::Route;
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

use bodies::{ProductBody, ProductList};
use shop::platform::catalog;

struct Products;

impl Handler for Products {
    async fn handle(
        route: Route,
        req: IncomingRequest,
        ctx: &mut Context,
    ) -> Result<Reply, HttpError> {
        match route {
            Route::ListProducts => list(
                &ctx.query,
                edge::client::address(&req).map(|address| Client { address }),
            ),
            Route::GetProduct(id) => {
                let product = catalog::get_product(id.get())?;
                Ok(Reply::json(200, &ProductBody::from(product)))
            }
            Route::CreateProduct => {
                let admin = auth::admin(&req, ctx)?;
                let admitted =
                    rate_limit::take(vec![rate_limit::per_user("product-write", admin.user_id)?])?;
                let input = NewProduct::from_json(&body::read_json(req).await?)?;
                let product = catalog::create_product(&to_wit(input))?;
                Ok(admitted.annotate(Reply::json(201, &ProductBody::from(product))))
            }
            Route::UpdateProduct(id) => {
                auth::admin(&req, ctx)?;
                let input = NewProduct::from_json(&body::read_json(req).await?)?;
                update(id, input)
            }
            Route::DeleteProduct(id) => {
                auth::admin(&req, ctx)?;
                catalog::delete_product(id.get())?;
                Ok(Reply::no_content())
            }
            _ => Err(HttpError::NoRoute),
        }
    }
}

fn list(query: &str, client: Option<Client>) -> Result<Reply, HttpError> {
    let page = Page::from_query(query)?;
    let result = catalog::list_products(
        PageRequest {
            page: page.page,
            page_size: page.page_size,
        },
        client.as_ref(),
    )?;
    Ok(Reply::json(200, &ProductList::from(result)))
}

fn update(id: ProductId, input: NewProduct) -> Result<Reply, HttpError> {
    let product = catalog::update_product(id.get(), &to_wit(input))?;
    Ok(Reply::json(200, &ProductBody::from(product)))
}

/// Checked at the edge for a precise 400; the catalog checks again.
fn to_wit(p: NewProduct) -> catalog::ProductInput {
    let fields = ProductFields::from(p);
    catalog::ProductInput {
        name: fields.name,
        description: fields.description.unwrap_or_default(),
        price: fields.price,
        // A checked stock fits in i32 by construction.
        stock: i32::try_from(fields.stock).unwrap_or(i32::MAX),
    }
}

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    edge::serve::<Products>(req).await
}
