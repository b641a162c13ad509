//! The request pipeline every HTTP component runs: CORS preflight, route
//! parsing, the component's handler, errors to replies, one log line.

use crate::cors::{CorsPolicy, ALLOW_HEADERS, ALLOW_METHODS, MAX_AGE_SECS};
use crate::route::{Group, Route};
use component_support::config;
use spin_sdk::http::{IncomingRequest, Method, Response};

use crate::context::Context;
use crate::error::HttpError;
use crate::reply::Reply;
use crate::settings::CORS_ORIGINS;

/// What a handler answers: a reply, or the error the edge turns into one.
pub type HttpResult = Result<Reply, HttpError>;

/// The component's HTTP entry point: every request through [`serve`] with
/// `$handler`'s routes.
#[macro_export]
macro_rules! http_entry {
    ($handler:ty) => {
        #[spin_sdk::http_component]
        async fn handle(req: spin_sdk::http::IncomingRequest) -> spin_sdk::http::Response {
            $crate::serve::<$handler>(req).await
        }
    };
}

/// What an HTTP component implements: its group's routes, already parsed
/// and typed. A route of another group is answered 404 (spin.toml never
/// sends one).
#[allow(async_fn_in_trait)] // components are single-threaded; no `Send` needed
pub trait Handler {
    /// The route group this component serves (`crate::route`).
    type Routes: Group;

    async fn handle(route: Self::Routes, req: IncomingRequest, ctx: &mut Context) -> HttpResult;
}

/// The CORS policy is an application variable (a host call that costs on
/// Spin): read only when a browser sent an Origin.
fn cors_policy(ctx: &Context) -> CorsPolicy {
    match ctx.origin {
        Some(_) => config::get(&CORS_ORIGINS)
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
                let handled = match H::Routes::of(matched.route) {
                    Some(route) => H::handle(route, req, &mut ctx).await,
                    None => Err(HttpError::NoRoute),
                };
                handled.unwrap_or_else(|e| e.into_reply(&ctx))
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
