//! The gateway: `/health`, `/health/ready`, `/openapi.json`, and the JSON 404
//! for every path no route group claims (`spin.toml` routes `/...` here).

mod health;

use edge::route::Operations;
use edge::{Context, Handler, HttpResult, Reply};
use spin_sdk::http::IncomingRequest;

const OPENAPI: &str = include_str!("../../../openapi/openapi.json");

struct Gateway;

impl Handler for Gateway {
    type Routes = Operations;

    async fn handle(route: Operations, _req: IncomingRequest, _ctx: &mut Context) -> HttpResult {
        match route {
            Operations::Health => Ok(health::live()),
            Operations::Ready => health::ready(),
            Operations::OpenApi => Ok(Reply::raw_json(200, OPENAPI)),
        }
    }
}

edge::http_entry!(Gateway);
