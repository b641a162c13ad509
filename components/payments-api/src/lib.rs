//! The payments route group: `/payment/order/{order_id}`,
//! `/payment/initiate`, Midtrans's `/payment/webhook` and the customer's
//! `/order/{id}/cancel` over the payments service, which is composed into
//! this component (and the saga and maintenance workers).

mod bodies;

component_support::bindings!("payments-api");

use component_support::wit::types::TokenBucket;
use edge::rate_limit::Fail;
use edge::route::Payments;
use edge::{auth, body, rate_limit, Context, Handler, HttpResult, Reply};
use platform_core::payment::InitiateRequest;
use spin_sdk::http::IncomingRequest;

use bodies::{InitiatedBody, NotificationBody, PaymentBody};
use edge::bodies::CancelledBody;
use shop::platform::payments;

struct PaymentsApi;

impl Handler for PaymentsApi {
    type Routes = Payments;

    async fn handle(route: Payments, req: IncomingRequest, ctx: &mut Context) -> HttpResult {
        match route {
            Payments::Get(order) => {
                let user = auth::authenticate(&req, ctx)?;
                let payment = payments::get_payment_for_order(user.user_id, order.get())?;
                Ok(Reply::json(200, &PaymentBody::from(payment)))
            }
            Payments::Initiate => {
                let user = auth::authenticate(&req, ctx)?;
                // Each initiate may call Midtrans: limited like other writes.
                rate_limit::take(
                    ctx,
                    rate_limit::per_user("payment-write", user.user_id)?,
                    Fail::Open,
                )?;
                initiate(req, user.user_id).await
            }
            Payments::CancelOrder(order) => {
                let user = auth::authenticate(&req, ctx)?;
                // A cancel may call Midtrans: limited like other writes. The
                // service takes the token, on the connection it publishes
                // the cancel's event on (one Redis connection per cancel).
                let limit = rate_limit::user_bucket("payment-write", user.user_id)?;
                let service_limit = limit.as_ref().map(TokenBucket::from);
                let cancelled =
                    payments::cancel_order(user.user_id, order.get(), service_limit.as_ref())?;
                rate_limit::admitted_by_service(ctx, limit, cancelled.standing);
                Ok(Reply::json(
                    200,
                    &CancelledBody::new(order.get(), &cancelled),
                ))
            }
            Payments::Webhook => {
                // Authenticated by its signature, inside the service.
                let body = body::read_json(req).await?;
                let outcome = payments::handle_notification(&body)?;
                Ok(Reply::json(200, &NotificationBody::from(outcome)))
            }
        }
    }
}

async fn initiate(req: IncomingRequest, user_id: i64) -> HttpResult {
    let checked = InitiateRequest::from_json(&body::read_json(req).await?)?;
    let initiated = payments::initiate_payment(
        user_id,
        &payments::InitiateRequest {
            order_id: checked.order_id.get(),
            customer_name: checked.customer_name.as_str().to_string(),
            customer_email: checked.customer_email.as_str().to_string(),
        },
    )?;
    Ok(Reply::json(200, &InitiatedBody::from(initiated)))
}

edge::http_entry!(PaymentsApi);
