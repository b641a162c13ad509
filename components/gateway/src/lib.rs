//! The gateway: the one public HTTP trigger. It turns HTTP into calls of the
//! service interfaces it imports, and every outcome into the JSON contract of
//! API.md — no handler error text ever reaches a client.

mod auth;
mod body;
mod catalog_api;
mod context;
mod health;
mod rate_limit;
mod reply;
mod router;
mod wit_error;

wit_bindgen::generate!({
    world: "gateway",
    path: "../../wit",
});

use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    router::handle(req).await
}
