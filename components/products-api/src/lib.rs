//! The products route group: `/product` and `/product/{id}` over the catalog
//! service, which is composed into this component (and only this one).

mod bodies;

component_support::bindings!("products-api");

use component_support::wit::types::{Client, PageRequest, TokenBucket};
use edge::route::Products;
use edge::{auth, body, rate_limit, Context, Handler, HttpResult, Reply};
use platform_core::page::Page;
use platform_core::product::{NewProduct, ProductFields, ProductId};
use spin_sdk::http::IncomingRequest;

use bodies::{ProductBody, ProductList};
use shop::platform::catalog;

struct ProductsApi;

impl Handler for ProductsApi {
    type Routes = Products;

    async fn handle(route: Products, req: IncomingRequest, ctx: &mut Context) -> HttpResult {
        match route {
            Products::List => list(
                &ctx.query,
                edge::client::address(&req)?.map(|address| Client { address }),
            ),
            Products::Get(id) => {
                let product = catalog::get_product(id.get())?;
                Ok(Reply::json(200, &ProductBody::from(product)))
            }
            Products::Create => {
                let admin = auth::admin(&req, ctx)?;
                // The catalog takes the token, on the connection its
                // write-through uses (one Redis connection per create).
                let limit = rate_limit::user_bucket("product-write", admin.user_id)?;
                let input = NewProduct::from_json(&body::read_json(req).await?)?;
                let service_limit = limit.as_ref().map(TokenBucket::from);
                let created = catalog::create_product(&to_wit(input), service_limit.as_ref())?;
                rate_limit::admitted_by_service(ctx, limit, created.standing);
                Ok(Reply::json(201, &ProductBody::from(created.product)))
            }
            Products::Update(id) => {
                auth::admin(&req, ctx)?;
                let input = NewProduct::from_json(&body::read_json(req).await?)?;
                update(id, input)
            }
            Products::Delete(id) => {
                auth::admin(&req, ctx)?;
                catalog::delete_product(id.get())?;
                Ok(Reply::no_content())
            }
        }
    }
}

fn list(query: &str, client: Option<Client>) -> HttpResult {
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

fn update(id: ProductId, input: NewProduct) -> HttpResult {
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

edge::http_entry!(ProductsApi);
