//! Faults for tests, set by `POST /api/faults` with any of:
//!
//! - `{"status": 503, "count": 2}` or `{"status": 429, "for_secs": 60}`:
//!   sends (with a valid key) answer that status with Resend's error body;
//!   optional `"retry_after": secs` (a `retry-after` header, and
//!   `ratelimit-reset` on a 429) and `"name"` (the error name);
//! - `{"drop_response": 3}`: the next 3 sends are accepted and stored (their
//!   idempotency recorded), then their connection closes unanswered;
//! - `{"delay_ms": 500}`: every accepted send waits this long before it is
//!   stored and answered, its key in progress meanwhile.
//!
//! A POST replaces the kinds it names; `DELETE /api/faults` clears them all.

use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::{resend_error, Reply};

#[derive(Default)]
pub(crate) struct Faults {
    status: Option<StatusFault>,
    drop_responses: u64,
    pub(crate) delay: Duration,
}

struct StatusFault {
    status: u16,
    name: String,
    retry_after: Option<u64>,
    left: Left,
}

enum Left {
    Count(u64),
    Until(Instant),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    status: Option<u16>,
    count: Option<u64>,
    for_secs: Option<u64>,
    retry_after: Option<u64>,
    name: Option<String>,
    drop_response: Option<u64>,
    delay_ms: Option<u64>,
}

impl Faults {
    /// Applies a `POST /api/faults` body; an error says what is wrong.
    pub(crate) fn set(&mut self, body: &[u8]) -> Result<(), String> {
        let req: Request = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let status = match req.status {
            Some(status) => Some(status_fault(status, &req)?),
            None if req.count.is_some() || req.for_secs.is_some() => {
                return Err("count and for_secs go with a status".into())
            }
            None => None,
        };
        if status.is_none() && req.drop_response.is_none() && req.delay_ms.is_none() {
            return Err("name a fault: status, drop_response or delay_ms".into());
        }
        if status.is_some() {
            self.status = status;
        }
        if let Some(n) = req.drop_response {
            self.drop_responses = n;
        }
        if let Some(ms) = req.delay_ms {
            self.delay = Duration::from_millis(ms);
        }
        Ok(())
    }

    /// The answer of the active status fault, if any, counting it down.
    pub(crate) fn take_status(&mut self) -> Option<Reply> {
        let fault = self.status.as_mut()?;
        let active = match &mut fault.left {
            Left::Count(n) => {
                let active = *n > 0;
                *n = n.saturating_sub(1);
                active
            }
            Left::Until(until) => Instant::now() < *until,
        };
        if !active {
            self.status = None;
            return None;
        }
        Some(fault.reply())
    }

    /// Whether this accepted send loses its answer, counting it down.
    pub(crate) fn take_drop(&mut self) -> bool {
        let drop = self.drop_responses > 0;
        self.drop_responses = self.drop_responses.saturating_sub(1);
        drop
    }
}

fn status_fault(status: u16, req: &Request) -> Result<StatusFault, String> {
    if !(400..=599).contains(&status) {
        return Err("status must be an error status, 400 to 599".into());
    }
    let left = match (req.count, req.for_secs) {
        (Some(n), None) => Left::Count(n),
        (None, Some(secs)) => Left::Until(Instant::now() + Duration::from_secs(secs)),
        _ => return Err("a status fault takes count or for_secs (one of them)".into()),
    };
    let name = req.name.clone().unwrap_or_else(|| {
        match status {
            429 => "rate_limit_exceeded",
            500 => "internal_server_error",
            503 => "service_unavailable",
            _ if status >= 500 => "application_error",
            _ => "validation_error",
        }
        .to_string()
    });
    Ok(StatusFault {
        status,
        name,
        retry_after: req.retry_after,
        left,
    })
}

impl StatusFault {
    fn reply(&self) -> Reply {
        let message = match self.status {
            429 => "Too many requests. Please limit the number of requests per second.",
            _ => "A fault set on the mail sink (POST /api/faults).",
        };
        let mut reply = resend_error(self.status, &self.name, message);
        let headers = reply.headers_mut();
        if self.status == 429 {
            // Resend's IETF rate limit headers (2 requests per second).
            headers.insert("ratelimit-limit", 2.into());
            headers.insert("ratelimit-remaining", 0.into());
        }
        if let Some(secs) = self.retry_after {
            headers.insert("retry-after", secs.into());
            if self.status == 429 {
                headers.insert("ratelimit-reset", secs.into());
            }
        }
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_run_out() {
        let mut faults = Faults::default();
        faults
            .set(br#"{"status": 503, "count": 2, "drop_response": 1}"#)
            .unwrap();
        assert_eq!(faults.take_status().unwrap().status(), 503);
        assert_eq!(faults.take_status().unwrap().status(), 503);
        assert!(faults.take_status().is_none());
        assert!(faults.take_drop());
        assert!(!faults.take_drop());
    }

    #[test]
    fn timed_faults_and_headers() {
        let mut faults = Faults::default();
        faults
            .set(br#"{"status": 429, "for_secs": 60, "retry_after": 7}"#)
            .unwrap();
        for _ in 0..3 {
            let reply = faults.take_status().unwrap();
            assert_eq!(reply.status(), 429);
            assert_eq!(reply.headers()["retry-after"], "7");
            assert_eq!(reply.headers()["ratelimit-reset"], "7");
        }
        faults.set(br#"{"status": 429, "for_secs": 0}"#).unwrap();
        assert!(faults.take_status().is_none());
    }

    #[test]
    fn bad_requests_say_why() {
        let mut faults = Faults::default();
        for bad in [
            &br#"{}"#[..],
            br#"{"status": 200, "count": 1}"#,
            br#"{"status": 503}"#,
            br#"{"status": 503, "count": 1, "for_secs": 1}"#,
            br#"{"count": 1}"#,
            br#"{"drop": 1}"#,
            b"nope",
        ] {
            assert!(faults.set(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
