//! Building responses: JSON bodies, the error contract, common headers.

use platform_core::cors::{CorsPolicy, EXPOSE_HEADERS};
use platform_core::ApiError;
use serde::Serialize;
use spin_sdk::http::Response;

use crate::context::Context;

/// A response before the common headers are added.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn json<T: Serialize>(status: u16, value: &T) -> Reply {
        match serde_json::to_vec(value) {
            Ok(body) => Reply {
                status,
                body,
                headers: vec![("content-type".into(), "application/json".into())],
            },
            Err(_) => Reply::error(&ApiError::internal()),
        }
    }

    pub fn raw_json(status: u16, body: &'static str) -> Reply {
        Reply {
            status,
            body: body.as_bytes().to_vec(),
            headers: vec![("content-type".into(), "application/json".into())],
        }
    }

    pub fn no_content() -> Reply {
        Reply {
            status: 204,
            body: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn error(err: &ApiError) -> Reply {
        Reply {
            status: err.status(),
            body: err.body(),
            headers: vec![("content-type".into(), "application/json".into())],
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Adds the request id and CORS headers, and logs one line.
    pub fn finish(self, ctx: &Context, cors: &CorsPolicy, method: &str, path: &str) -> Response {
        let mut builder = Response::builder();
        builder.status(self.status);
        for (name, value) in &self.headers {
            builder.header(name.as_str(), value.as_str());
        }
        builder.header("x-request-id", ctx.request_id.as_str());
        if let Some(origin) = cors.allow_origin(ctx.origin.as_deref()) {
            builder.header("access-control-allow-origin", origin);
            builder.header("access-control-expose-headers", EXPOSE_HEADERS);
            builder.header("vary", "origin");
        }
        eprintln!(
            "{}",
            serde_json::json!({
                "request_id": ctx.request_id,
                "method": method,
                "path": path,
                "status": self.status,
                "duration_ms": ctx.started.elapsed().as_secs_f64() * 1000.0,
            })
        );
        builder.body(self.body).build()
    }
}
