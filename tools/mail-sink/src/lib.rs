//! A local mail provider: one HTTP server answering Resend's real paths, so
//! the app reaches it through its production code with only the base URL
//! changed. It sends nothing; it keeps every mail for people and tests:
//!
//! - `POST /emails`: Resend's send, with its bearer key, its validation, its
//!   error body and its idempotency rules (`Idempotency-Key`, 24 h);
//! - `GET /emails/{id}`: Resend's retrieve;
//! - `GET /`: a page listing the mails, newest first, links clickable;
//! - `GET|DELETE /api/messages`, `GET /api/stats`, `POST|DELETE /api/faults`:
//!   the sink's own controls, for tests (see `control`).
//!
//! Requests and answers are the app's own wire types
//! (`platform_core::resend`), so both sides agree on every byte.

mod control;
mod faults;
mod idempotency;
mod links;
mod message;
mod page;
mod send;
mod stamps;
mod validate;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use platform_core::resend::ErrorBody;
use serde::Serialize;

pub use message::Message;

#[derive(Debug, Clone)]
pub struct Config {
    /// What callers must send as `Authorization: Bearer <key>`.
    pub api_key: String,
    /// `127.0.0.1:0` for a free port.
    pub listen: SocketAddr,
    /// Print a line (recipient and subject, never the body) per new mail.
    pub announce: bool,
}

/// What the sink has answered to `POST /emails` since it started or was
/// cleared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Mails stored (a dropped response included).
    pub accepted: u64,
    /// Sends answered from an idempotency record: nothing stored.
    pub replayed: u64,
    /// Sends refused with a 4xx: key, validation, idempotency conflicts.
    pub refused: u64,
    /// Sends answered by a status fault.
    pub faulted: u64,
}

#[derive(Default)]
struct State {
    /// Oldest first.
    messages: Vec<Message>,
    idempotency: idempotency::Records,
    stats: Stats,
    faults: faults::Faults,
}

struct Shared {
    api_key: String,
    announce: bool,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }
}

pub struct Sink {
    /// `http://127.0.0.1:<port>`: Resend's base URL for the app.
    pub base: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Sink {
    /// Binds and serves on the current tokio runtime until dropped.
    pub async fn start(config: Config) -> std::io::Result<Sink> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            api_key: config.api_key,
            announce: config.announce,
            state: Mutex::default(),
        });
        let serving = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = serving.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { handle(shared, req).await }
                    });
                    // A `Dropped` answer ends here: the connection closes
                    // unanswered.
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Sink { base, shared, task })
    }

    /// Every mail kept, oldest first.
    pub fn messages(&self) -> Vec<Message> {
        self.shared.state().messages.clone()
    }

    pub fn stats(&self) -> Stats {
        self.shared.state().stats
    }
}

type Reply = Response<Full<Bytes>>;

/// The error that makes hyper close the connection without an answer: a
/// reply lost after the mail was accepted.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("response dropped on purpose (a drop_response fault)")
    }
}

impl std::error::Error for Dropped {}

fn json(status: u16, body: &impl Serialize) -> Reply {
    let body = serde_json::to_vec(body).expect("a reply is JSON");
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// Resend's error answer: `{"statusCode", "message", "name"}`.
fn resend_error(status: u16, name: &str, message: &str) -> Reply {
    json(status, &ErrorBody::new(status, name, message))
}

fn no_content() -> Reply {
    Response::builder()
        .status(204)
        .body(Full::default())
        .unwrap()
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Reply, Dropped> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let headers = req.headers().clone();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    Ok(match (method.as_str(), segments.as_slice()) {
        ("POST", ["emails"]) => return send::send(&shared, &headers, &body).await,
        ("GET", ["emails", id]) => send::retrieve(&shared, &headers, id),
        ("GET", [""]) => page::show(&shared.state().messages),
        ("GET", ["api", "messages"]) => control::messages(&shared, &query),
        ("DELETE", ["api", "messages"]) => control::clear(&shared),
        ("GET", ["api", "stats"]) => json(200, &shared.state().stats),
        ("POST", ["api", "faults"]) => control::set_faults(&shared, &body),
        ("DELETE", ["api", "faults"]) => control::clear_faults(&shared),
        (_, ["emails"] | ["emails", _] | [""] | ["api", "messages" | "stats" | "faults"]) => {
            resend_error(
                405,
                "method_not_allowed",
                "Method is not allowed for the requested path.",
            )
        }
        _ => resend_error(404, "not_found", "The requested endpoint does not exist."),
    })
}
