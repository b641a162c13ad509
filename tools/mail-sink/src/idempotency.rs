//! Resend's idempotency rules: a key names one send for 24 hours. The same
//! key with the same body gets the first answer again (nothing is sent); with
//! another body, `invalid_idempotent_request`; while the first is still being
//! processed, `concurrent_idempotent_requests`. Only sends that pass the key
//! and validation checks are recorded, so a refused send can be corrected
//! under the same key.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hyper::body::Bytes;
use serde_json::Value;

pub(crate) const WINDOW: Duration = Duration::from_secs(24 * 3600);

struct Record {
    /// The parsed body: key order and white space do not make another body.
    body: Value,
    at: Instant,
    /// The answer given (status and body); `None` while in progress.
    answer: Option<(u16, Bytes)>,
}

#[derive(Default)]
pub(crate) struct Records(HashMap<String, Record>);

/// What a send with a key does.
pub(crate) enum Begin {
    /// The key is new (or expired): go on, then [`Records::finish`].
    Fresh,
    /// Answer this again.
    Replay(u16, Bytes),
    /// 409 with this error name.
    Conflict(&'static str),
}

impl Records {
    pub(crate) fn begin(&mut self, key: &str, body: &Value, now: Instant) -> Begin {
        self.0.retain(|_, r| now.duration_since(r.at) < WINDOW);
        match self.0.get(key) {
            Some(r) if r.body != *body => Begin::Conflict("invalid_idempotent_request"),
            Some(Record {
                answer: Some((status, bytes)),
                ..
            }) => Begin::Replay(*status, bytes.clone()),
            Some(_) => Begin::Conflict("concurrent_idempotent_requests"),
            None => {
                let record = Record {
                    body: body.clone(),
                    at: now,
                    answer: None,
                };
                self.0.insert(key.to_string(), record);
                Begin::Fresh
            }
        }
    }

    /// Records the answer to the send [`Records::begin`] let through.
    pub(crate) fn finish(&mut self, key: &str, body: &Value, answer: (u16, Bytes)) {
        let record = self.0.entry(key.to_string()).or_insert_with(|| Record {
            body: body.clone(),
            at: Instant::now(),
            answer: None,
        });
        record.answer = Some(answer);
    }

    /// Forgets a send that never finished (its client went away while it
    /// was delayed), so a retry is not refused as concurrent forever.
    pub(crate) fn abandon(&mut self, key: &str) {
        if matches!(self.0.get(key), Some(r) if r.answer.is_none()) {
            self.0.remove(key);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_key_replays_conflicts_and_expires() {
        let mut records = Records::default();
        let (body, other) = (json!({"a": 1, "b": 2}), json!({"a": 2}));
        let t0 = Instant::now();
        assert!(matches!(records.begin("k", &body, t0), Begin::Fresh));
        assert!(matches!(
            records.begin("k", &body, t0),
            Begin::Conflict("concurrent_idempotent_requests")
        ));
        records.finish("k", &body, (200, Bytes::from_static(b"{\"id\":\"1\"}")));
        let reordered = json!({"b": 2, "a": 1});
        match records.begin("k", &reordered, t0) {
            Begin::Replay(200, bytes) => assert_eq!(&bytes[..], b"{\"id\":\"1\"}"),
            _ => panic!("a replay"),
        }
        assert!(matches!(
            records.begin("k", &other, t0),
            Begin::Conflict("invalid_idempotent_request")
        ));
        let later = t0 + WINDOW;
        assert!(matches!(records.begin("k", &other, later), Begin::Fresh));
        records.abandon("k");
        assert!(matches!(records.begin("k", &body, later), Begin::Fresh));
    }
}
