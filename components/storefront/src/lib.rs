//! The storefront: the single-page app's files, embedded at build time and
//! answered from memory through the shared edge (request ids, the JSON error
//! contract, one log line). `spin.toml` routes `/`, `/app/...` and
//! `/assets/...` here; the API keeps its own paths.

use edge::{Context, HttpError, HttpResult, Reply};
use platform_core::ServiceError;
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;
use static_site::{Asset, Refusal};

static ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The entry's policy: scripts and styles from here only, images from
/// anywhere (product images are URLs), no framing; payment and sign-in
/// pages are reached by navigation, which this does not restrict.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src * data:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

fn files(req: &IncomingRequest, ctx: &mut Context) -> HttpResult {
    let if_none_match = edge::header(req, "if-none-match");
    let accept_encoding = edge::header(req, "accept-encoding");
    let request = static_site::Request {
        method: &ctx.method,
        path: &ctx.path,
        if_none_match: if_none_match.as_deref(),
        accept_encoding: accept_encoding.as_deref(),
    };
    match static_site::serve(ASSETS, &request) {
        Ok(served) => {
            let mut reply = Reply::bytes(served.status, served.body);
            for (name, value) in served.headers {
                reply = reply.with_header(name, value);
            }
            if served.is_entry {
                reply = reply
                    .with_header("content-security-policy", CONTENT_SECURITY_POLICY)
                    .with_header("referrer-policy", "same-origin");
            }
            Ok(reply)
        }
        Err(Refusal::NotFound) => Err(HttpError::NoRoute),
        Err(Refusal::MethodNotAllowed { allow }) => Err(HttpError::MethodNotAllowed {
            allow: allow.to_string(),
        }),
        Err(Refusal::NotBuilt) => Err(HttpError::Service(ServiceError::Unavailable(
            "The storefront is not built: run `cargo xtask build`".into(),
        ))),
    }
}

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    edge::serve_unrouted(req, "/app/...", files)
}
