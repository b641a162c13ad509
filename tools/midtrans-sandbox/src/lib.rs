//! A local Midtrans payment gateway: one HTTP server answering Midtrans's
//! real paths, so the app reaches it through its production code with only
//! the base URLs changed:
//!
//! - `POST /snap/v1/transactions`: Snap's create-transaction (its `expiry`,
//!   `start_time` included, sets when a pending transaction expires);
//! - `GET /v2/{order_id}/status`: the Core API status check;
//! - `POST /v2/{order_id}/expire`: the Core API expiry of a pending
//!   transaction;
//! - `POST /v2/{order_id}/refund`: the Core API refund of a paid one,
//!   idempotent per `refund_key`;
//! - `GET /snap/v4/redirection/{token}`: the Snap payment page, whose
//!   buttons `POST /snap/v4/redirection/{token}/{pay|deny|expire}`;
//! - `POST /simulate/{order_id}`: the sandbox's own control, setting any
//!   status for scripts.
//!
//! Every change sends the signed HTTP notification Midtrans would send,
//! retried like Midtrans (the Core API's actions answer first and notify
//! afterwards), except two: a pending transaction past its expiry reads as
//! `expire` from then on, computed when read without a notification (no
//! timer runs), and tests' [`Sandbox::set_status`] is silent. Requests, answers and notifications are
//! the app's own wire types (`platform_core::midtrans`), so both sides agree
//! on every byte.

mod actions;
mod api;
mod notify;
mod page;
mod stamps;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use platform_core::midtrans::{amount_text, ItemDetails, MidtransErrors, Notification, VaNumber};
use serde::Serialize;
use serde_json::Value;

use stamps::{jakarta_now, unix_now};

/// Midtrans's notification signature, shared with the app (tests sign
/// their own notifications with it).
pub use platform_core::midtrans::signature;

pub const MERCHANT_ID: &str = "SANDBOX";

#[derive(Debug, Clone)]
pub struct Config {
    /// The key the app signs in with (Basic auth) and notifications are signed with.
    pub server_key: String,
    /// Where notifications go unless a transaction overrides it; empty: nowhere.
    pub notification_url: String,
    /// `127.0.0.1:0` for a free port.
    pub listen: SocketAddr,
    /// The base URL in `redirect_url`; `http://<bound addr>` by default.
    pub public_base: Option<String>,
}

/// One Snap transaction as the sandbox records it.
#[derive(Debug, Clone)]
pub struct Transaction {
    pub order_id: String,
    /// Whole rupiah.
    pub gross_amount: i64,
    pub items: Vec<ItemDetails>,
    /// Name and email, for the payment page.
    pub customer: String,
    pub token: String,
    pub transaction_id: String,
    pub transaction_status: String,
    pub fraud_status: Option<String>,
    /// Jakarta time, `2026-12-02 13:00:00`, as Midtrans writes it.
    pub transaction_time: String,
    pub settlement_time: Option<String>,
    pub va_number: String,
    /// `callbacks.finish`: where the page sends the customer afterwards.
    pub finish_url: Option<String>,
    pub notification_url: String,
    /// Unix seconds from which a pending transaction is expired: Snap's
    /// `expiry` from its `start_time` or the creation (24 hours without).
    pub expires_at: i64,
    /// The refunds made: `refund_key` and whole rupiah.
    pub refunds: Vec<(String, i64)>,
}

impl Transaction {
    /// Midtrans's `status_code` for the transaction status.
    pub fn status_code(&self) -> &'static str {
        match self.transaction_status.as_str() {
            "settlement" | "capture" | "refund" | "partial_refund" => "200",
            "pending" => "201",
            _ => "202",
        }
    }

    /// `12345.00`: Midtrans writes amounts with two decimals, and signs them so.
    pub fn gross_amount_text(&self) -> String {
        amount_text(self.gross_amount)
    }

    /// Whether the customer can no longer act on the payment page.
    pub fn is_final(&self) -> bool {
        let challenged = self.transaction_status == "capture"
            && self.fraud_status.as_deref() == Some("challenge");
        self.transaction_status != "pending" && !challenged
    }

    /// A pending transaction past its window is expired from then on.
    fn lapse(&mut self, now: i64) {
        if self.transaction_status == "pending" && now >= self.expires_at {
            self.record("expire", None);
        }
    }

    fn record(&mut self, transaction_status: &str, fraud_status: Option<&str>) {
        self.transaction_status = transaction_status.to_string();
        self.fraud_status = fraud_status.map(str::to_string);
        if transaction_status == "settlement" && self.settlement_time.is_none() {
            self.settlement_time = Some(jakarta_now());
        }
    }
}

/// The signed notification Midtrans would POST for this transaction state.
pub fn notification(tx: &Transaction, server_key: &str) -> Notification {
    let mut n = Notification {
        currency: Some("IDR".into()),
        fraud_status: tx.fraud_status.clone(),
        gross_amount: tx.gross_amount_text(),
        merchant_id: Some(MERCHANT_ID.into()),
        order_id: tx.order_id.clone(),
        payment_type: Some("bank_transfer".into()),
        settlement_time: tx.settlement_time.clone(),
        signature_key: String::new(),
        status_code: tx.status_code().into(),
        status_message: Some("midtrans payment notification".into()),
        transaction_id: Some(tx.transaction_id.clone()),
        transaction_status: tx.transaction_status.clone(),
        transaction_time: Some(tx.transaction_time.clone()),
        va_numbers: vec![VaNumber {
            bank: "bca".into(),
            va_number: tx.va_number.clone(),
        }],
    };
    n.sign(server_key);
    n
}

/// [`notification`] as JSON (public so tests can build and tamper with
/// bodies).
pub fn notification_body(tx: &Transaction, server_key: &str) -> Value {
    serde_json::to_value(notification(tx, server_key)).expect("a notification is JSON")
}

#[derive(Default)]
struct State {
    by_order: HashMap<String, Transaction>,
    /// Snap token → order id.
    tokens: HashMap<String, String>,
    notifications: Vec<(String, u16)>,
    /// Snap creations whose reply is lost (answered 504 after the
    /// transaction was recorded), counted down.
    lose_replies: usize,
    /// Refund requests still to answer 503 (Midtrans down) before trying.
    fail_refunds: usize,
    /// How long Snap's creations take to answer (after recording).
    snap_delay: Duration,
    /// Authorized Core API expire calls per order id, whatever they answered.
    expire_calls: HashMap<String, usize>,
    /// Core API actions deliver their notification before answering.
    notify_before_answer: bool,
}

struct Shared {
    server_key: String,
    /// Where new transactions notify (settable: tests learn the app's
    /// address after the sandbox's).
    notification_url: Mutex<String>,
    public_base: String,
    state: Mutex<State>,
    client: reqwest::Client,
    /// Set on Drop: pending notification retries give up.
    stopped: AtomicBool,
}

impl Shared {
    /// `f` on the order's transaction, its window applied first, under
    /// the lock: what `f` checks still holds when it records.
    fn with_order<R>(&self, order_id: &str, f: impl FnOnce(&mut Transaction) -> R) -> Option<R> {
        let mut state = self.state.lock().unwrap();
        let tx = state.by_order.get_mut(order_id)?;
        tx.lapse(unix_now());
        Some(f(tx))
    }

    fn with_token<R>(&self, token: &str, f: impl FnOnce(&mut Transaction) -> R) -> Option<R> {
        let order_id = self.state.lock().unwrap().tokens.get(token)?.clone();
        self.with_order(&order_id, f)
    }
}

pub struct Sandbox {
    /// `http://127.0.0.1:<port>`: both the Snap and the Core API base URL.
    pub base: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::Relaxed);
        self.task.abort();
    }
}

impl Sandbox {
    /// Binds and serves on the current tokio runtime until dropped.
    pub async fn start(config: Config) -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let base = format!("http://{}", listener.local_addr()?);
        // A local fake never goes through a proxy from the environment.
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(std::io::Error::other)?;
        let public_base = config.public_base.unwrap_or_else(|| base.clone());
        let shared = Arc::new(Shared {
            server_key: config.server_key,
            notification_url: Mutex::new(config.notification_url),
            public_base: public_base.trim_end_matches('/').to_string(),
            state: Mutex::default(),
            client,
            stopped: AtomicBool::new(false),
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
                        async move { Ok::<_, Infallible>(handle(shared, req).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Sandbox { base, shared, task })
    }

    /// Where transactions created from now on send their notifications.
    pub fn set_notification_url(&self, url: &str) {
        *self.shared.notification_url.lock().unwrap() = url.to_string();
    }

    /// The recorded `transaction_status` of an order.
    pub fn status_of(&self, gateway_order_id: &str) -> Option<String> {
        self.shared
            .with_order(gateway_order_id, |tx| tx.transaction_status.clone())
    }

    /// A copy of the whole recorded transaction.
    pub fn transaction(&self, gateway_order_id: &str) -> Option<Transaction> {
        self.shared.with_order(gateway_order_id, |tx| tx.clone())
    }

    /// How many transactions Snap has created.
    pub fn transactions(&self) -> usize {
        self.shared.state.lock().unwrap().by_order.len()
    }

    /// Records a status WITHOUT notifying, so the status API can disagree
    /// with what the app was told (`"settlement"`, `Some("accept")`: paid,
    /// refundable, and the app knows nothing).
    pub fn set_status(
        &self,
        gateway_order_id: &str,
        transaction_status: &str,
        fraud_status: Option<&str>,
    ) {
        self.shared
            .with_order(gateway_order_id, |tx| {
                tx.record(transaction_status, fraud_status)
            })
            .unwrap_or_else(|| panic!("no transaction {gateway_order_id}"));
    }

    /// The next `n` Snap creations record their transaction and then lose
    /// their reply (a 504 from a proxy that timed out): the caller does not
    /// get the token, and Midtrans holds the order id.
    pub fn lose_next_snap_replies(&self, n: usize) {
        self.shared.state.lock().unwrap().lose_replies = n;
    }

    /// The next `n` refund requests answer 503 without refunding (Midtrans
    /// unavailable): the caller must keep the refund owed and ask again.
    pub fn fail_next_refunds(&self, n: usize) {
        self.shared.state.lock().unwrap().fail_refunds = n;
    }

    /// Snap creations answer `delay` after recording the transaction (a
    /// second call meanwhile sees the order id taken): widens the window of
    /// a double-clicked Pay.
    pub fn delay_snap_replies(&self, delay: Duration) {
        self.shared.state.lock().unwrap().snap_delay = delay;
    }

    /// Core API actions (expire, refund) deliver their notification and
    /// only then answer: the worst order a caller can meet, its own webhook
    /// applied before it reads the answer (Midtrans sends it ~after).
    pub fn notify_actions_before_answering(&self, first: bool) {
        self.shared.state.lock().unwrap().notify_before_answer = first;
    }

    /// One entry per delivery attempt (retries included): the order id and
    /// the webhook's HTTP status, 0 when it could not be reached.
    pub fn notifications_sent(&self) -> Vec<(String, u16)> {
        self.shared.state.lock().unwrap().notifications.clone()
    }

    /// The refunds made on an order (none when unknown): `refund_key` and
    /// whole rupiah, in order; a retried key is listed once.
    pub fn refunds(&self, gateway_order_id: &str) -> Vec<(String, i64)> {
        self.shared
            .with_order(gateway_order_id, |tx| tx.refunds.clone())
            .unwrap_or_default()
    }

    /// How many authorized `POST /v2/{order_id}/expire` calls named this
    /// order id, whatever they answered (404 and 412 included).
    pub fn expire_calls(&self, gateway_order_id: &str) -> usize {
        let state = self.shared.state.lock().unwrap();
        state
            .expire_calls
            .get(gateway_order_id)
            .copied()
            .unwrap_or(0)
    }
}

type Reply = Response<Full<Bytes>>;

fn reply(status: u16, body: &impl Serialize) -> Reply {
    let body = serde_json::to_vec(body).expect("a reply is JSON");
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Reply {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["snap", "v1", "transactions"]) => {
            let created = api::create(&shared, &headers, &body);
            let (lose, delay) = {
                let mut state = shared.state.lock().unwrap();
                let lose = created.status().is_success() && state.lose_replies > 0;
                if lose {
                    state.lose_replies -= 1;
                }
                (lose, state.snap_delay)
            };
            tokio::time::sleep(delay).await;
            if lose {
                return reply(
                    504,
                    &MidtransErrors {
                        status_code: Some("504".into()),
                        status_message: Some("Gateway timeout".into()),
                        ..MidtransErrors::default()
                    },
                );
            }
            created
        }
        ("GET", ["v2", order_id, "status"]) => api::status(&shared, &headers, order_id),
        ("POST", ["v2", order_id, "expire"]) => actions::expire(&shared, &headers, order_id).await,
        ("POST", ["v2", order_id, "refund"]) => {
            actions::refund(&shared, &headers, order_id, &body).await
        }
        ("POST", ["simulate", order_id]) => api::simulate(&shared, order_id, &body).await,
        ("GET", ["snap", "v4", "redirection", token]) => page::show(&shared, token),
        ("POST", ["snap", "v4", "redirection", token, action]) => {
            page::act(&shared, token, action).await
        }
        _ => reply(
            404,
            &MidtransErrors {
                status_code: Some("404".into()),
                status_message: Some("The requested resource is not found".into()),
                ..MidtransErrors::default()
            },
        ),
    }
}
