//! The payments route group: `/payment/order/{order_id}`,
//! `/payment/initiate` and Midtrans's `/payment/webhook` over the payments
//! service, which is composed into this component (and the saga worker).

mod bodies;

wit_bindgen::generate!({
    world: "payments-api",
    path: "../../wit",
    with: { "shop:platform/types@0.1.0": component_support::wit::types },
});

use edge::{auth, body, rate_limit, Context, Handler, HttpError, Reply};
use platform_core::payment::InitiateRequest;
use platform_core::route::Route;
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

use bodies::{InitiatedBody, NotificationBody, PaymentBody};
use shop::platform::payments;

struct Payments;

impl Handler for Payments {
    async fn handle(
        route: Route,
        req: IncomingRequest,
        ctx: &mut Context,
    ) -> Result<Reply, HttpError> {
        match route {
            Route::GetPayment(order) => {
                let user = auth::authenticate(&req, ctx)?;
                let payment = payments::get_payment_for_order(user.user_id, order.get())?;
                Ok(Reply::json(200, &PaymentBody::from(payment)))
            }
            Route::InitiatePayment => {
                let user = auth::authenticate(&req, ctx)?;
                // Each initiate may call Midtrans: limited like other writes.
                let admitted =
                    rate_limit::take(vec![rate_limit::per_user("payment-write", user.user_id)?])?;
                let result = initiate(req, user.user_id).await;
                Ok(admitted.around(ctx, result))
            }
            Route::PaymentWebhook => {
                // Authenticated by its signature, inside the service.
                let body = body::read_json(req).await?;
                let outcome = payments::handle_notification(&body)?;
                Ok(Reply::json(200, &NotificationBody::from(outcome)))
            }
            _ => Err(HttpError::NoRoute),
        }
    }
}

async fn initiate(req: IncomingRequest, user_id: i64) -> Result<Reply, HttpError> {
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

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    edge::serve::<Payments>(req).await
}
