//! The orders route group: `/order` and `/order/{id}` over the orders
//! service, which is composed into this component (and the saga worker).

mod bodies;

wit_bindgen::generate!({
    world: "orders-api",
    path: "../../wit",
    with: { "shop:platform/types@0.1.0": component_support::wit::types },
});

use component_support::wit::types::PageRequest;
use edge::context::header;
use edge::{auth, body, rate_limit, Context, Handler, HttpError, Reply};
use platform_core::order::{IdempotencyKey, OrderRequest};
use platform_core::page::Page;
use platform_core::route::Route;
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

use bodies::{OrderBody, OrderList};
use shop::platform::orders;

struct Orders;

impl Handler for Orders {
    async fn handle(
        route: Route,
        req: IncomingRequest,
        ctx: &mut Context,
    ) -> Result<Reply, HttpError> {
        match route {
            Route::CreateOrder => {
                let user = auth::authenticate(&req, ctx)?;
                let key = header(&req, "idempotency-key")
                    .map(|k| IdempotencyKey::parse(&k))
                    .transpose()?;
                let admitted =
                    rate_limit::take(vec![rate_limit::per_user("order-write", user.user_id)?])?;
                let result = create(req, user.user_id, key).await;
                Ok(admitted.around(ctx, result))
            }
            Route::ListOrders => {
                let user = auth::authenticate(&req, ctx)?;
                let page = Page::from_query(&ctx.query)?;
                let result = orders::list_orders(
                    user.user_id,
                    PageRequest {
                        page: page.page,
                        page_size: page.page_size,
                    },
                )?;
                Ok(Reply::json(200, &OrderList::from(result)))
            }
            Route::GetOrder(id) => {
                let user = auth::authenticate(&req, ctx)?;
                let order = orders::get_order(user.user_id, id.get())?;
                Ok(Reply::json(200, &OrderBody::from(order)))
            }
            _ => Err(HttpError::NoRoute),
        }
    }
}

async fn create(
    req: IncomingRequest,
    user_id: i64,
    key: Option<IdempotencyKey>,
) -> Result<Reply, HttpError> {
    // Checked at the edge for a precise 400; the service checks again.
    let request = OrderRequest::from_json(&body::read_json(req).await?)?;
    let items: Vec<orders::ItemRequest> = request
        .lines()
        .iter()
        .map(|l| orders::ItemRequest {
            product_id: l.product_id.get(),
            quantity: l.quantity,
        })
        .collect();
    let order = orders::create_order(user_id, &items, key.as_ref().map(|k| k.as_str()))?;
    Ok(Reply::json(201, &OrderBody::from(order)))
}

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    edge::serve::<Orders>(req).await
}
