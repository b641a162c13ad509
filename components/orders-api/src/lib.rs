//! The orders route group: `/order` and `/order/{id}` over the orders
//! service, which is composed into this component (and the saga worker).

mod bodies;

component_support::bindings!("orders-api");

use component_support::wit::types::PageRequest;
use edge::context::raw_header;
use edge::rate_limit::Fail;
use edge::route::Orders;
use edge::{auth, body, rate_limit, Context, Handler, HttpResult, Reply};
use platform_core::order::{IdempotencyKey, OrderRequest};
use platform_core::page::Page;
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
                rate_limit::take(
                    ctx,
                    rate_limit::per_user("order-write", user.user_id)?,
                    Fail::Open,
                )?;
                create(req, user.user_id, key).await
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

async fn create(req: IncomingRequest, user_id: i64, key: Option<IdempotencyKey>) -> HttpResult {
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

edge::http_entry!(OrdersApi);
