//! The orders route group: `/order` and `/order/{id}` over the orders
//! service, which is composed into this component (and the saga worker).

mod bodies;

component_support::bindings!("orders-api");

use component_support::wit::types::{PageRequest, TokenBucket};
use edge::context::raw_header;
use edge::route::Orders;
use edge::{auth, body, rate_limit, Context, Handler, HttpResult, Reply};
use platform_core::order::{IdempotencyKey, OrderRequest};
use platform_core::page::Page;
use platform_core::rate_limit::Bucket;
use spin_sdk::http::IncomingRequest;

use bodies::{OrderBody, OrderList};
use shop::platform::orders;

struct OrdersApi;

impl Handler for OrdersApi {
    type Routes = Orders;

    async fn handle(route: Orders, req: IncomingRequest, ctx: &mut Context) -> HttpResult {
        match route {
            Orders::Create => {
                let user = auth::authenticate(&req, ctx)?;
                let key = raw_header(&req, "idempotency-key")
                    .map(|k| IdempotencyKey::parse(&k))
                    .transpose()?;
                // The orders service takes the token, on the connection its
                // write-through uses (one Redis connection per order).
                let limit = rate_limit::user_bucket("order-write", user.user_id)?;
                create(req, ctx, user.user_id, key, limit).await
            }
            Orders::List => {
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
            Orders::Get(id) => {
                let user = auth::authenticate(&req, ctx)?;
                let order = orders::get_order(user.user_id, id.get())?;
                Ok(Reply::json(200, &OrderBody::from(order)))
            }
        }
    }
}

async fn create(
    req: IncomingRequest,
    ctx: &mut Context,
    user_id: i64,
    key: Option<IdempotencyKey>,
    limit: Option<Bucket>,
) -> HttpResult {
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
    let placed = orders::create_order(
        user_id,
        &items,
        key.as_ref().map(|k| k.as_str()),
        limit.as_ref().map(TokenBucket::from).as_ref(),
    )?;
    rate_limit::admitted_by_service(ctx, limit, placed.standing);
    Ok(Reply::json(201, &OrderBody::from(placed.order)))
}

edge::http_entry!(OrdersApi);
