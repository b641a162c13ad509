//! Per-request context: the request id, the origin, the start time.

use std::time::Instant;

use spin_sdk::http::IncomingRequest;

pub struct Context {
    pub request_id: String,
    pub origin: Option<String>,
    pub started: Instant,
}

impl Context {
    pub fn new(req: &IncomingRequest) -> Context {
        let request_id = header(req, "x-request-id")
            .filter(|id| valid_request_id(id))
            .unwrap_or_else(new_request_id);
        Context {
            request_id,
            origin: header(req, "origin"),
            started: Instant::now(),
        }
    }
}

/// The first value of a request header, if it is UTF-8.
pub fn header(req: &IncomingRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .into_iter()
        .next()
        .and_then(|v| String::from_utf8(v).ok())
}

/// A client's id is echoed only if it is short and plain (it ends up in logs).
fn valid_request_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

fn new_request_id() -> String {
    wasi::random::random::get_random_bytes(16)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
