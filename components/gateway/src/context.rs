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
        let headers = req.headers();
        let header = |name: &str| {
            headers
                .get(&name.to_string())
                .into_iter()
                .next()
                .and_then(|v| String::from_utf8(v).ok())
        };
        let request_id = header("x-request-id")
            .filter(|id| valid_request_id(id))
            .unwrap_or_else(new_request_id);
        Context {
            request_id,
            origin: header("origin"),
            started: Instant::now(),
        }
    }
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
