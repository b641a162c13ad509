//! Routing and the request pipeline: CORS preflight, auth, limits, dispatch.

use component_support::config::var;
use platform_core::cors::{CorsPolicy, ALLOW_HEADERS, ALLOW_METHODS, MAX_AGE_SECS};
use platform_core::{path::parse_id, ApiError, ErrorKind};
use spin_sdk::http::{IncomingRequest, Method, Response};

use crate::context::{header, Context};
use crate::reply::Reply;
use crate::{auth, body, catalog_api, health, rate_limit};

const OPENAPI: &str = include_str!("../../../openapi/openapi.json");

pub async fn handle(req: IncomingRequest) -> Response {
    let ctx = Context::new(&req);
    let method = req.method();
    let path_and_query = req.path_with_query().unwrap_or_else(|| "/".to_string());
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query.as_str(), ""));
    let path = path.to_string();
    let query = query.to_string();
    let cors = var("cors_origins")
        .map(|s| CorsPolicy::parse(&s))
        .unwrap_or(CorsPolicy::None);

    let reply = if method == Method::Options {
        preflight(&ctx, &cors)
    } else {
        match route(req, &method, &path, &query).await {
            Ok(reply) => reply,
            Err(err) if err.kind == ErrorKind::RateLimited => rate_limit::refusal(&err),
            Err(err) => {
                if err.kind == ErrorKind::Internal {
                    eprintln!("request {} failed with an internal error", ctx.request_id);
                }
                Reply::error(&err)
            }
        }
    };
    reply.finish(&ctx, &cors, &method.to_string(), &path)
}

fn preflight(ctx: &Context, cors: &CorsPolicy) -> Reply {
    let mut reply = Reply::no_content();
    if cors.allow_origin(ctx.origin.as_deref()).is_some() {
        reply = reply
            .with_header("access-control-allow-methods", ALLOW_METHODS)
            .with_header("access-control-allow-headers", ALLOW_HEADERS)
            .with_header("access-control-max-age", MAX_AGE_SECS);
    }
    reply
}

fn method_not_allowed(allow: &str) -> Result<Reply, ApiError> {
    Ok(Reply::error(&ApiError::new(
        ErrorKind::MethodNotAllowed,
        "Method not allowed",
    ))
    .with_header("allow", allow))
}

async fn route(
    req: IncomingRequest,
    method: &Method,
    path: &str,
    query: &str,
) -> Result<Reply, ApiError> {
    let trimmed = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let segments: Vec<&str> = trimmed.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (Method::Get, ["health"]) => Ok(health::live()),
        (_, ["health"]) => method_not_allowed("GET"),
        (Method::Get, ["health", "ready"]) => health::ready(),
        (_, ["health", "ready"]) => method_not_allowed("GET"),
        (Method::Get, ["openapi.json"]) => Ok(Reply::raw_json(200, OPENAPI)),
        (_, ["openapi.json"]) => method_not_allowed("GET"),

        (Method::Get, ["product"]) => catalog_api::list(query),
        (Method::Post, ["product"]) => {
            let admin = admin(&req)?;
            let limit = rate_limit::take(&format!("user:{}:product-write", admin.user_id))?;
            let body = body::read_json(req).await?;
            catalog_api::create(&body).map(|reply| rate_limit::annotate(reply, &limit))
        }
        (_, ["product"]) => method_not_allowed("GET, POST"),
        (Method::Get, ["product", id]) => catalog_api::get(id),
        (Method::Put, ["product", id]) => {
            admin(&req)?;
            let id = parse_id(id, "product id")?;
            let body = body::read_json(req).await?;
            catalog_api::update(id, &body)
        }
        (Method::Delete, ["product", id]) => {
            admin(&req)?;
            catalog_api::delete(id)
        }
        (_, ["product", _]) => method_not_allowed("GET, PUT, DELETE"),

        _ => Err(ApiError::not_found("Not found")),
    }
}

fn admin(req: &IncomingRequest) -> Result<auth_core::Principal, ApiError> {
    let principal = auth::authenticate(header(req, "authorization").as_deref())?;
    auth::require_admin(&principal)?;
    Ok(principal)
}
