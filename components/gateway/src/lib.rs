//! The gateway: `/health`, `/health/ready`, `/openapi.json`, and the JSON 404
//! for every path no route group claims (`spin.toml` routes `/...` here).

mod health;

use edge::{Context, Handler, HttpError, Reply};
use platform_core::route::Route;
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

const OPENAPI: &str = include_str!("../../../openapi/openapi.json");

struct Operations;

impl Handler for Operations {
    async fn handle(
        route: Route,
        _req: IncomingRequest,
        _ctx: &mut Context,
    ) -> Result<Reply, HttpError> {
        match route {
            Route::Health => Ok(health::live()),
            Route::Ready => health::ready(),
            Route::OpenApi => Ok(Reply::raw_json(200, OPENAPI)),
            _ => Err(HttpError::NoRoute),
        }
    }
}

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    edge::serve::<Operations>(req).await
}
