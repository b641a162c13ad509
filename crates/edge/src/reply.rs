//! Building responses: JSON bodies, common headers, the request's log line.

use crate::cors::{CorsPolicy, EXPOSE_HEADERS};
use serde::Serialize;
use spin_sdk::http::Response;

use crate::context::Context;

/// A response before the common headers are added.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

fn json_headers() -> Vec<(String, String)> {
    vec![("content-type".into(), "application/json".into())]
}

impl Reply {
    pub fn json<T: Serialize>(status: u16, value: &T) -> Reply {
        match serde_json::to_vec(value) {
            Ok(body) => Reply {
                status,
                body,
                headers: json_headers(),
            },
            Err(_) => Reply::error(500, "Internal server error"),
        }
    }

    pub fn raw_json(status: u16, body: &'static str) -> Reply {
        Reply {
            status,
            body: body.as_bytes().to_vec(),
            headers: json_headers(),
        }
    }

    /// A body that is not JSON; the caller sets its `content-type`.
    pub fn bytes(status: u16, body: &[u8]) -> Reply {
        Reply {
            status,
            body: body.to_vec(),
            headers: Vec::new(),
        }
    }

    pub fn no_content() -> Reply {
        Reply {
            status: 204,
            body: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// `{"error": message}` with `status`; only `HttpError` should call it.
    pub(crate) fn error(status: u16, message: &str) -> Reply {
        let body = serde_json::to_vec(&ErrorBody { error: message })
            .unwrap_or_else(|_| br#"{"error":"Internal server error"}"#.to_vec());
        Reply {
            status,
            body,
            headers: json_headers(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Adds the rate limiter's fields, the request id and CORS headers, and
    /// writes the log line.
    pub(crate) fn finish(self, ctx: &Context, cors: &CorsPolicy) -> Response {
        let reply = match &ctx.admitted {
            Some(admitted) => admitted.annotate(self),
            None => self,
        };
        reply.send(ctx, cors)
    }

    fn send(self, ctx: &Context, cors: &CorsPolicy) -> Response {
        let mut builder = Response::builder();
        builder.status(self.status);
        for (name, value) in &self.headers {
            builder.header(name.as_str(), value.as_str());
        }
        builder.header("x-request-id", ctx.request_id.as_str());
        // Whether CORS headers appear depends on the request's Origin, so
        // every response says so (a shared cache must not mix them up).
        builder.header("vary", "origin");
        if let Some(origin) = cors.allow_origin(ctx.origin.as_deref()) {
            builder.header("access-control-allow-origin", origin);
            builder.header("access-control-expose-headers", EXPOSE_HEADERS);
        }
        component_support::log::line(&RequestLog {
            request_id: &ctx.request_id,
            method: &ctx.method,
            route: ctx.template,
            path: &ctx.path,
            status: self.status,
            duration_ms: ctx.started.elapsed().as_secs_f64() * 1000.0,
            user_id: ctx.user_id,
        });
        builder.body(self.body).build()
    }
}

/// The one log line of a request. Never a header, a body, a token.
#[derive(Serialize)]
struct RequestLog<'a> {
    request_id: &'a str,
    method: &'a str,
    route: Option<&'a str>,
    path: &'a str,
    status: u16,
    duration_ms: f64,
    user_id: Option<i64>,
}
