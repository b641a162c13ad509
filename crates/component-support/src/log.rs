//! One JSON line per event on stderr, serialised first and written with one
//! call. Guest stderr is unbuffered on Spin and every write is a host call
//! (a `serde_json::Value` through `eprintln!` was ~38 of them); one
//! `write_all` of a short line is one.

use std::io::Write;

use serde::Serialize;

/// Writes `record` as one JSON line. Never panics; a failed write is dropped.
pub fn line<T: Serialize>(record: &T) {
    let mut buf = match serde_json::to_vec(record) {
        Ok(buf) => buf,
        Err(_) => return,
    };
    buf.push(b'\n');
    let _ = std::io::stderr().lock().write_all(&buf);
}

#[derive(Serialize)]
struct Event<'a> {
    level: &'a str,
    msg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

/// An error worth an operator's look. `detail` must hold no secret.
pub fn error(msg: &str, detail: &str) {
    line(&Event {
        level: "error",
        msg,
        detail: Some(detail),
    });
}

/// A degraded but handled condition (cache off, limiter open).
pub fn warn(msg: &str, detail: &str) {
    line(&Event {
        level: "warn",
        msg,
        detail: Some(detail),
    });
}
