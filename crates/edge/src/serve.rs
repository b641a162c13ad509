//! The request pipeline every HTTP component runs: CORS preflight, route
//! parsing, the component's handler, errors to replies, one log line.

use component_support::config::var;
use platform_core::cors::{CorsPolicy, ALLOW_HEADERS, ALLOW_METHODS, MAX_AGE_SECS};
use platform_core::route::Route;
use spin_sdk::http::{IncomingRequest, Method, Response};

use crate::context::Context;
use crate::error::HttpError;
use crate::reply::Reply;

/// What an HTTP component implements: its routes, already parsed and typed.
/// A route of another group is answered 404 (spin.toml never sends one).
#[allow(async_fn_in_trait)] // components are single-threaded; no `Send` needed
pub trait Handler {
    async fn handle(
        route: Route,
        req: IncomingRequest,
        ctx: &mut Context,
    ) -> Result<Reply, HttpError>;
}

/// The CORS policy is an application variable (a host call that costs on
/// Spin): read only when a browser sent an Origin.
fn cors_policy(ctx: &Context) -> CorsPolicy {
    match ctx.origin {
        Some(_) => var("cors_origins")
            .map(|s| CorsPolicy::parse(&s))
            .unwrap_or(CorsPolicy::None),
        None => CorsPolicy::None,
    }
}

pub async fn serve<H: Handler>(req: IncomingRequest) -> Response {
    let mut ctx = Context::new(&req);
    let cors = cors_policy(&ctx);
    let reply = if req.method() == Method::Options {
        preflight(&ctx, &cors)
    } else {
        match Route::parse(&ctx.method, &ctx.path) {
            Ok(matched) => {
                ctx.template = Some(matched.template);
                match H::handle(matched.route, req, &mut ctx).await {
                    Ok(reply) => reply,
                    Err(e) => e.into_reply(&ctx),
                }
            }
            Err(e) => {
                ctx.template = Route::template_of(&ctx.path);
                HttpError::from(e).into_reply(&ctx)
            }
        }
    };
    reply.finish(&ctx, &cors)
}

/// The same pipeline for paths that are not API routes (the storefront's
/// files): `respond` sees every request but preflights; `label` names the
/// paths in the log line.
pub fn serve_unrouted(
    req: IncomingRequest,
    label: &'static str,
    respond: impl FnOnce(&IncomingRequest, &mut Context) -> Result<Reply, HttpError>,
) -> Response {
    let mut ctx = Context::new(&req);
    ctx.template = Some(label);
    let cors = cors_policy(&ctx);
    let reply = if req.method() == Method::Options {
        preflight(&ctx, &cors)
    } else {
        respond(&req, &mut ctx).unwrap_or_else(|e| e.into_reply(&ctx))
    };
    reply.finish(&ctx, &cors)
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
