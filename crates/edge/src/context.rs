//! Per-request context: request id, origin, route, caller, rate-limit
//! admission, start time.

use std::time::Instant;

use component_support::cache::Cache;
use spin_sdk::http::IncomingRequest;

use crate::rate_limit::Admitted;

pub struct Context {
    pub request_id: String,
    pub origin: Option<String>,
    pub method: String,
    /// The path without its query.
    pub path: String,
    pub query: String,
    /// The route template matched, for the log line (`/product/{id}`).
    pub template: Option<&'static str>,
    /// The authenticated caller, once known, for the log line.
    pub user_id: Option<i64>,
    /// The rate limiter's admission, once taken: its fields go on the reply.
    pub admitted: Option<Admitted>,
    /// The limiter's Redis connection, once opened: Spin opens a TCP
    /// connection per open, so the request's later Redis calls reuse it.
    pub redis: Option<Cache>,
    pub started: Instant,
}

impl Context {
    pub fn new(req: &IncomingRequest) -> Context {
        let request_id = header(req, "x-request-id")
            .filter(|id| valid_request_id(id))
            .unwrap_or_else(new_request_id);
        let path_and_query = req.path_with_query().unwrap_or_else(|| "/".to_string());
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query.as_str(), ""));
        Context {
            request_id,
            origin: header(req, "origin"),
            method: req.method().to_string(),
            path: path.to_string(),
            query: query.to_string(),
            template: None,
            user_id: None,
            admitted: None,
            redis: None,
            started: Instant::now(),
        }
    }
}

impl Context {
    /// The request's Redis connection (opened on first use, then reused: on
    /// Spin each open is a TCP connect). `None` without a Redis URL.
    pub fn redis(&mut self) -> Option<&mut Cache> {
        if self.redis.is_none() {
            match component_support::config::get(&platform_core::setting::REDIS_URL) {
                Ok(url) => self.redis = Some(Cache::for_purpose(url, "rate limiter")),
                Err(e) => {
                    component_support::log::warn("no Redis URL", &format!("{e:?}"));
                    return None;
                }
            }
        }
        self.redis.as_mut()
    }

    /// Wakes the mail worker after a request queued a mail. A lost wake is
    /// not a lost mail: the worker looks again on every maintenance tick.
    pub fn wake_mail_worker(&mut self) {
        if let Some(redis) = self.redis() {
            redis.publish("mail.due", br#"{"type":"mail.due"}"#);
        }
    }
}

/// The first value of a request header, if it is UTF-8.
pub fn header(req: &IncomingRequest, name: &str) -> Option<String> {
    raw_header(req, name).and_then(|v| String::from_utf8(v).ok())
}

/// A request header's first value as sent, UTF-8 or not: for a header whose
/// presence matters even when its value is wrong (a key that cannot be read
/// must be refused, not taken for no key).
pub fn raw_header(req: &IncomingRequest, name: &str) -> Option<Vec<u8>> {
    req.headers().get(name).into_iter().next()
}

/// A client's id is echoed only if it is short and plain (it ends up in logs).
fn valid_request_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

fn new_request_id() -> String {
    platform_core::text::hex(&component_support::random::bytes::<16>())
}
