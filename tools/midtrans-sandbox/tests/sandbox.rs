use std::convert::Infallible;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use midtrans_sandbox::{signature, Config, Sandbox};
use serde_json::{json, Value};

const KEY: &str = "SB-Mid-server-test";

/// The shop's webhook: keeps every notification, answers `status`.
#[derive(Clone)]
struct Shop {
    url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
    status: Arc<AtomicU16>,
}

async fn receiver() -> Shop {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shop = Shop {
        url: format!("http://{}/payment/webhook", listener.local_addr().unwrap()),
        bodies: Arc::default(),
        status: Arc::new(AtomicU16::new(200)),
    };
    let serving = shop.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let shop = serving.clone();
            let service = hyper::service::service_fn(move |req| receive(shop.clone(), req));
            let connection = hyper::server::conn::http1::Builder::new();
            tokio::spawn(connection.serve_connection(TokioIo::new(stream), service));
        }
    });
    shop
}

async fn receive(
    shop: Shop,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    assert_eq!(req.headers()["content-type"], "application/json");
    let body = req.into_body().collect().await.unwrap().to_bytes();
    shop.bodies
        .lock()
        .unwrap()
        .push(serde_json::from_slice(&body).unwrap());
    let status = shop.status.load(Ordering::SeqCst);
    Ok(hyper::Response::builder()
        .status(status)
        .body(Full::default())
        .unwrap())
}

async fn start(notification_url: &str) -> Sandbox {
    Sandbox::start(Config {
        server_key: KEY.into(),
        notification_url: notification_url.into(),
        listen: "127.0.0.1:0".parse().unwrap(),
        public_base: None,
    })
    .await
    .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn snap_body(order_id: &str, finish: Option<&str>) -> Value {
    let mut body = json!({
        "transaction_details": {"order_id": order_id, "gross_amount": 12345},
        "item_details": [
            {"id": "7", "price": 5000, "quantity": 2, "name": "Kopi <tubruk>"},
            {"id": "8", "price": 2345, "quantity": 1, "name": "Roti"},
        ],
        "customer_details": {"first_name": "Budi", "email": "budi@example.com"},
        "expiry": {"unit": "hours", "duration": 24},
    });
    if let Some(finish) = finish {
        body["callbacks"] = json!({"finish": finish});
    }
    body
}

/// Sends a request, answering its HTTP status and JSON body.
async fn call(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn snap(sandbox: &Sandbox, key: &str, body: &Value) -> (u16, Value) {
    let url = format!("{}/snap/v1/transactions", sandbox.base);
    call(client().post(url).basic_auth(key, Some("")).json(body)).await
}

async fn status(sandbox: &Sandbox, order_id: &str) -> (u16, Value) {
    let url = format!("{}/v2/{order_id}/status", sandbox.base);
    call(client().get(url).basic_auth(KEY, Some(""))).await
}

/// `(transaction_status, status_code)` of a status answer or notification.
fn state(body: &Value) -> (&str, &str) {
    let field = |k| body[k].as_str().unwrap();
    (field("transaction_status"), field("status_code"))
}

/// Presses a payment page button.
async fn press(page_url: &str, action: &str) -> reqwest::Response {
    client()
        .post(format!("{page_url}/{action}"))
        .send()
        .await
        .unwrap()
}

async fn page(url: &str) -> String {
    let response = client().get(url).send().await.unwrap();
    response.text().await.unwrap()
}

fn assert_signed(body: &Value) {
    let f = |k: &str| body[k].as_str().unwrap();
    let expected = signature(f("order_id"), f("status_code"), f("gross_amount"), KEY);
    assert_eq!(f("signature_key"), expected);
}

#[tokio::test]
async fn snap_status_and_simulated_settlement() {
    let shop = receiver().await;
    let sandbox = start(&shop.url).await;

    let (code, created) = snap(&sandbox, KEY, &snap_body("order-1", None)).await;
    assert_eq!(code, 201, "{created}");
    let token = created["token"].as_str().unwrap();
    let redirect = format!("{}/snap/v4/redirection/{token}", sandbox.base);
    assert_eq!(created["redirect_url"], redirect.as_str());

    let (code, refused) = snap(&sandbox, "SB-Mid-server-bad", &snap_body("order-2", None)).await;
    assert_eq!(code, 401);
    let why = refused["error_messages"][0].as_str().unwrap();
    assert!(why.contains("unauthorized"), "{why}");
    let (code, refused) = snap(&sandbox, KEY, &snap_body("order-1", None)).await;
    assert_eq!(code, 400);
    assert_eq!(
        refused["error_messages"][0],
        "transaction_details.order_id sudah digunakan"
    );
    let mut wrong_sum = snap_body("order-3", None);
    wrong_sum["transaction_details"]["gross_amount"] = json!(12000);
    assert_eq!(snap(&sandbox, KEY, &wrong_sum).await.0, 400);
    assert_eq!(sandbox.transactions(), 1);

    let (code, pending) = status(&sandbox, "order-1").await;
    assert_eq!((code, state(&pending)), (200, ("pending", "201")));
    assert_eq!(pending["gross_amount"], "12345.00");
    assert_signed(&pending);
    assert_eq!(status(&sandbox, "order-404").await.0, 404);

    let body = json!({"transaction_status": "settlement", "fraud_status": "accept"});
    let url = format!("{}/simulate/order-1", sandbox.base);
    let (code, simulated) = call(client().post(url).json(&body)).await;
    assert_eq!((code, &simulated["webhook_status"]), (200, &json!(200)));
    let received = shop.bodies.lock().unwrap().clone();
    assert_eq!(received, vec![simulated["notification"].clone()]);
    let note = &received[0];
    assert_eq!(state(note), ("settlement", "200"));
    assert_eq!(note["fraud_status"], "accept");
    assert!(note["settlement_time"].is_string());
    assert_signed(note);
    assert_eq!(sandbox.notifications_sent(), vec![("order-1".into(), 200)]);

    let (_, settled) = status(&sandbox, "order-1").await;
    assert_eq!(state(&settled), ("settlement", "200"));
    assert_eq!(settled["transaction_id"], note["transaction_id"]);
    assert_eq!(sandbox.status_of("order-1").as_deref(), Some("settlement"));
}

#[tokio::test]
async fn payment_page_pays_and_redirects_to_finish() {
    let shop = receiver().await;
    let sandbox = start(&shop.url).await;
    let finish = "http://shop.test/orders/done?lang=id";
    let (_, created) = snap(&sandbox, KEY, &snap_body("order-9", Some(finish))).await;
    let page_url = created["redirect_url"].as_str().unwrap();

    let html = page(page_url).await;
    assert!(html.contains("<html lang=\"en\">") && html.contains("Local Midtrans sandbox"));
    assert!(html.contains("Rp 12.345") && html.contains("order-9") && html.contains("pending"));
    assert!(html.contains("Kopi &lt;tubruk&gt;"), "escaped");
    let token = created["token"].as_str().unwrap();
    for action in ["pay", "deny", "expire"] {
        let form =
            format!("<form method=\"post\" action=\"/snap/v4/redirection/{token}/{action}\">");
        assert!(html.contains(&form), "{action} button");
    }

    let paid = press(page_url, "pay").await;
    assert_eq!(paid.status(), 303);
    let query = "order_id=order-9&status_code=200&transaction_status=settlement";
    let location = paid.headers()["location"].to_str().unwrap();
    assert_eq!(location, format!("{finish}&{query}"));
    let received = shop.bodies.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert_eq!(state(&received[0]), ("settlement", "200"));
    assert_eq!(received[0]["fraud_status"], "accept");
    assert_signed(&received[0]);

    // Final now: the page still renders, without buttons, and refuses them.
    let html = page(page_url).await;
    assert!(html.contains("settlement") && !html.contains("<form"));
    let again = press(page_url, "deny").await;
    assert_eq!(again.status(), 409);
    let unknown = format!("{}/snap/v4/redirection/nope", sandbox.base);
    assert_eq!(client().get(unknown).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn failed_notifications_are_retried_and_set_status_is_silent() {
    let (shop, elsewhere) = (receiver().await, receiver().await);
    let sandbox = start(&shop.url).await;
    // Midtrans's per-transaction override sends this one elsewhere.
    let override_urls = format!("{}, http://unused.test/", elsewhere.url);
    let request = client()
        .post(format!("{}/snap/v1/transactions", sandbox.base))
        .basic_auth(KEY, Some(""))
        .header("X-Override-Notification", override_urls)
        .json(&snap_body("order-5", None));
    let (code, created) = call(request).await;
    assert_eq!(code, 201);
    let page_url = created["redirect_url"].as_str().unwrap();

    elsewhere.status.store(500, Ordering::SeqCst);
    let denied = press(page_url, "deny").await;
    assert_eq!(denied.status(), 200);
    assert!(denied.text().await.unwrap().contains("HTTP 500"));
    elsewhere.status.store(200, Ordering::SeqCst);
    for _ in 0..40 {
        if sandbox.notifications_sent().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let order = || "order-5".to_string();
    assert_eq!(
        sandbox.notifications_sent(),
        vec![(order(), 500), (order(), 200)]
    );
    let received = elsewhere.bodies.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0], received[1], "a retry resends the same body");
    assert_eq!(state(&received[0]), ("deny", "202"));
    assert!(shop.bodies.lock().unwrap().is_empty());

    sandbox.set_status("order-5", "settlement", Some("accept"));
    assert_eq!(state(&status(&sandbox, "order-5").await.1).0, "settlement");
    assert_eq!(sandbox.notifications_sent().len(), 2, "no notification");
}

#[tokio::test]
async fn answers_parse_as_the_apps_wire_types() {
    use platform_core::midtrans::{
        CreateTransaction, MidtransErrors, Notification, SnapCreated, TransactionStatus,
    };

    let shop = receiver().await;
    let sandbox = start(&shop.url).await;
    // The app's typed request, as the sandbox receives it.
    let typed: CreateTransaction =
        serde_json::from_value(snap_body("order-7", Some("http://shop.test/done"))).unwrap();
    let body = serde_json::to_value(&typed).unwrap();
    let (code, created) = snap(&sandbox, KEY, &body).await;
    assert_eq!(code, 201, "{created}");
    let created: SnapCreated = serde_json::from_value(created).unwrap();
    let tx = sandbox.transaction("order-7").unwrap();
    assert_eq!(tx.token, created.token);
    assert_eq!(tx.items, typed.item_details.clone().unwrap());
    assert_eq!(tx.customer, "Budi (budi@example.com)");
    assert_eq!(tx.finish_url.as_deref(), Some("http://shop.test/done"));

    let (_, pending) = status(&sandbox, "order-7").await;
    let pending: TransactionStatus = serde_json::from_value(pending).unwrap();
    assert_eq!(pending.status_code, "201");
    assert_eq!(pending.gross_amount.as_deref(), Some("12345.00"));
    assert_eq!(pending.va_numbers[0].va_number, tx.va_number);
    let (code, unknown) = status(&sandbox, "order-404").await;
    let unknown: TransactionStatus = serde_json::from_value(unknown).unwrap();
    assert_eq!((code, unknown.status_code.as_str()), (404, "404"));

    let url = format!("{}/simulate/order-7", sandbox.base);
    let settle = json!({"transaction_status": "settlement", "fraud_status": "accept"});
    assert_eq!(call(client().post(url).json(&settle)).await.0, 200);
    let received = shop.bodies.lock().unwrap()[0].to_string();
    let n = Notification::from_json(received.as_bytes()).unwrap();
    assert!(n.signed_with(KEY) && !n.signed_with("SB-Mid-server-other"));
    assert_eq!(n.gross_amount, "12345.00");
    assert_eq!(n.fraud_status.as_deref(), Some("accept"));

    // Refusals are Midtrans's error body; a wrong type names its field.
    let (code, refused) = snap(&sandbox, "SB-Mid-server-bad", &body).await;
    assert_eq!(code, 401);
    let refused: MidtransErrors = serde_json::from_value(refused).unwrap();
    assert_eq!(refused.error_messages.len(), 1);
    for (bad, words) in [
        (
            json!({"transaction_details": {"order_id": "o-8"}}),
            "gross_amount",
        ),
        (
            json!({"transaction_details": {"order_id": "o-8", "gross_amount": 1.5}}),
            "whole rupiah",
        ),
        (
            json!({"transaction_details": {"order_id": "o 8", "gross_amount": 0}}),
            "order_id must be",
        ),
    ] {
        let (code, refused) = snap(&sandbox, KEY, &bad).await;
        let refused: MidtransErrors = serde_json::from_value(refused).unwrap();
        assert_eq!(code, 400, "{bad}");
        assert!(refused.error_messages[0].contains(words), "{refused:?}");
    }
    assert_eq!(sandbox.transactions(), 1);
}

/// A Core API action: `POST /v2/{order_id}/{action}`, signed in with `key`.
async fn act(
    sandbox: &Sandbox,
    key: &str,
    order_id: &str,
    action: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let url = format!("{}/v2/{order_id}/{action}", sandbox.base);
    let mut request = client().post(url).basic_auth(key, Some(""));
    if let Some(body) = body {
        request = request.json(body);
    }
    call(request).await
}

/// The notifications the shop got once there are `n` (the Core API
/// answers before it notifies), failing after 4 s.
async fn received(shop: &Shop, n: usize) -> Vec<Value> {
    for _ in 0..40 {
        let bodies = shop.bodies.lock().unwrap().clone();
        if bodies.len() >= n {
            return bodies;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} notifications arrived");
}

#[tokio::test]
async fn core_api_expires_pending_transactions_only() {
    use platform_core::midtrans::TransactionStatus;

    let shop = receiver().await;
    let sandbox = start(&shop.url).await;
    for order_id in ["order-e1", "order-e2"] {
        assert_eq!(snap(&sandbox, KEY, &snap_body(order_id, None)).await.0, 201);
    }

    let (code, expired) = act(&sandbox, KEY, "order-e1", "expire", None).await;
    assert_eq!((code, state(&expired)), (200, ("expire", "407")));
    assert_eq!(
        expired["status_message"],
        "Success, transaction has expired"
    );
    let tx = sandbox.transaction("order-e1").unwrap();
    let typed: TransactionStatus = serde_json::from_value(expired.clone()).unwrap();
    assert_eq!(typed.order_id.as_deref(), Some("order-e1"));
    assert_eq!(typed.gross_amount.as_deref(), Some("12345.00"));
    assert_eq!(typed.transaction_id, Some(tx.transaction_id));
    // Its signature would sign "407"; Midtrans sends none here.
    assert_eq!(typed.signature_key, None);

    // The notification is Midtrans's expire notification, signed.
    let notes = received(&shop, 1).await;
    assert_eq!(state(&notes[0]), ("expire", "202"));
    assert_eq!(notes[0]["order_id"], "order-e1");
    assert_signed(&notes[0]);
    assert_eq!(
        state(&status(&sandbox, "order-e1").await.1),
        ("expire", "202")
    );

    // Not pending any more (expired, or paid without a word): 412.
    sandbox.set_status("order-e2", "settlement", Some("accept"));
    for order_id in ["order-e1", "order-e2"] {
        let (code, refused) = act(&sandbox, KEY, order_id, "expire", None).await;
        assert_eq!(code, 412, "{order_id}");
        assert_eq!(refused["status_code"], "412");
        assert_eq!(
            refused["status_message"],
            "Merchant cannot modify the status of the transaction"
        );
    }
    assert_eq!(sandbox.status_of("order-e2").as_deref(), Some("settlement"));
    let (code, unknown) = act(&sandbox, KEY, "order-404", "expire", None).await;
    assert_eq!((code, &unknown["status_code"]), (404, &json!("404")));
    let (code, refused) = act(&sandbox, "SB-Mid-server-bad", "order-e2", "expire", None).await;
    assert_eq!((code, &refused["status_code"]), (401, &json!("401")));

    assert_eq!(sandbox.expire_calls("order-e1"), 2);
    assert_eq!(
        sandbox.expire_calls("order-e2"),
        1,
        "unauthorized: not counted"
    );
    assert_eq!(sandbox.expire_calls("order-404"), 1);
    assert_eq!(sandbox.expire_calls("order-none"), 0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sandbox.notifications_sent(), vec![("order-e1".into(), 200)]);
}

#[tokio::test]
async fn core_api_refunds_paid_transactions_once_per_key() {
    use platform_core::midtrans::{MidtransErrors, RefundRequest, TransactionStatus};

    let shop = receiver().await;
    let sandbox = start(&shop.url).await;
    for order_id in ["order-r1", "order-r2", "order-r3"] {
        assert_eq!(snap(&sandbox, KEY, &snap_body(order_id, None)).await.0, 201);
    }
    let request = |key: &str, amount: i64| {
        let req = RefundRequest {
            amount,
            reason: Some("out of stock".into()),
            refund_key: key.into(),
        };
        serde_json::to_value(req).unwrap()
    };
    let (code, refused) = act(
        &sandbox,
        KEY,
        "order-r1",
        "refund",
        Some(&request("rk-1", 5000)),
    )
    .await;
    assert_eq!(
        (code, &refused["status_code"]),
        (412, &json!("412")),
        "pending"
    );

    // Paid without a notification: the shop hears only of the refund.
    sandbox.set_status("order-r1", "settlement", Some("accept"));
    for (bad, words) in [
        (request("rk-1", 0), "amount must be greater than 0"),
        (request("", 5000), "refund_key is required"),
        (
            request("rk-1", 12346),
            "at most the transaction's gross_amount, 12345.00",
        ),
        (
            json!({"refund_key": "rk-1", "amount": "5000"}),
            "Invalid refund request",
        ),
        (json!({"refund_key": "rk-1"}), "amount"),
    ] {
        let (code, refused) = act(&sandbox, KEY, "order-r1", "refund", Some(&bad)).await;
        let refused: MidtransErrors = serde_json::from_value(refused).unwrap();
        assert_eq!(
            (code, refused.status_code.as_deref()),
            (400, Some("400")),
            "{bad}"
        );
        assert!(refused.error_messages[0].contains(words), "{refused:?}");
    }
    let url = format!("{}/v2/order-r1/refund", sandbox.base);
    let not_json = client().post(url).basic_auth(KEY, Some("")).body("{");
    assert_eq!(call(not_json).await.0, 400);
    assert!(sandbox.refunds("order-r1").is_empty());

    let (code, refunded) = act(
        &sandbox,
        KEY,
        "order-r1",
        "refund",
        Some(&request("rk-1", 5000)),
    )
    .await;
    assert_eq!((code, state(&refunded)), (200, ("refund", "200")));
    assert_eq!(
        refunded["status_message"],
        "Success, refund request is approved"
    );
    let typed: TransactionStatus = serde_json::from_value(refunded.clone()).unwrap();
    assert_eq!(typed.refund_key.as_deref(), Some("rk-1"));
    assert_eq!(typed.refund_amount.as_deref(), Some("5000.00"));
    assert_eq!(typed.gross_amount.as_deref(), Some("12345.00"));
    assert_eq!(typed.order_id.as_deref(), Some("order-r1"));
    let notes = received(&shop, 1).await;
    assert_eq!(state(&notes[0]), ("refund", "200"));
    assert_eq!(notes[0]["fraud_status"], "accept");
    assert_signed(&notes[0]);
    assert_eq!(
        state(&status(&sandbox, "order-r1").await.1),
        ("refund", "200")
    );

    // The same key (whatever its amount) answers the same, refunds nothing.
    let (code, again) = act(
        &sandbox,
        KEY,
        "order-r1",
        "refund",
        Some(&request("rk-1", 7000)),
    )
    .await;
    assert_eq!((code, &again), (200, &refunded));
    // Another key: the transaction is refunded already.
    let (code, refused) = act(
        &sandbox,
        KEY,
        "order-r1",
        "refund",
        Some(&request("rk-2", 100)),
    )
    .await;
    assert_eq!((code, &refused["status_code"]), (412, &json!("412")));
    assert_eq!(
        sandbox.refunds("order-r1"),
        vec![("rk-1".to_string(), 5000)]
    );

    // A captured card payment refunds once the fraud check accepted it.
    sandbox.set_status("order-r2", "capture", Some("accept"));
    let (code, full) = act(
        &sandbox,
        KEY,
        "order-r2",
        "refund",
        Some(&request("rk-3", 12345)),
    )
    .await;
    assert_eq!((code, &full["refund_amount"]), (200, &json!("12345.00")));
    sandbox.set_status("order-r3", "capture", Some("challenge"));
    let (code, _) = act(
        &sandbox,
        KEY,
        "order-r3",
        "refund",
        Some(&request("rk-4", 1)),
    )
    .await;
    assert_eq!(code, 412, "challenged");
    let (code, unknown) = act(
        &sandbox,
        KEY,
        "order-404",
        "refund",
        Some(&request("rk-5", 1)),
    )
    .await;
    assert_eq!((code, &unknown["status_code"]), (404, &json!("404")));
    let (code, _) = act(
        &sandbox,
        "SB-Mid-server-bad",
        "order-r3",
        "refund",
        Some(&request("rk-6", 1)),
    )
    .await;
    assert_eq!(code, 401);
    assert!(sandbox.refunds("order-r3").is_empty() && sandbox.refunds("order-404").is_empty());

    received(&shop, 2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let order = |id: &str| (id.to_string(), 200);
    assert_eq!(
        sandbox.notifications_sent(),
        vec![order("order-r1"), order("order-r2")]
    );
}

#[tokio::test]
async fn expiry_windows_are_checked_and_lapse_when_read() {
    use platform_core::midtrans::{CreateTransaction, Expiry};

    let shop = receiver().await;
    let sandbox = start(&shop.url).await;
    let with_expiry = |order_id: &str, expiry: Value| {
        let mut body = snap_body(order_id, None);
        body["expiry"] = expiry;
        body
    };
    let now = || {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        since.unwrap().as_secs() as i64
    };

    // A window that ended long ago: pending was never visible.
    let mut typed: CreateTransaction = serde_json::from_value(snap_body("order-x1", None)).unwrap();
    typed.expiry = Some(Expiry::starting("2020-01-01 10:00:00 +0700", 1, "minute"));
    let (code, created) = snap(&sandbox, KEY, &serde_json::to_value(&typed).unwrap()).await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(
        sandbox.transaction("order-x1").unwrap().expires_at,
        1_577_847_660
    );
    let (code, lapsed) = status(&sandbox, "order-x1").await;
    assert_eq!((code, state(&lapsed)), (200, ("expire", "202")));
    let page_url = created["redirect_url"].as_str().unwrap();
    let html = page(page_url).await;
    assert!(html.contains("<strong>expire</strong>") && !html.contains("<form"));
    assert_eq!(press(page_url, "pay").await.status(), 409);
    assert_eq!(act(&sandbox, KEY, "order-x1", "expire", None).await.0, 412);
    let refund = json!({"refund_key": "rk", "amount": 1});
    assert_eq!(
        act(&sandbox, KEY, "order-x1", "refund", Some(&refund))
            .await
            .0,
        412
    );

    // Windows still open: from start_time, from the creation, Snap's day.
    let far = json!({"start_time": "2099-12-06 10:00:00 +0000", "unit": "days", "duration": 2});
    assert_eq!(
        snap(&sandbox, KEY, &with_expiry("order-x2", far)).await.0,
        201
    );
    assert_eq!(
        sandbox.transaction("order-x2").unwrap().expires_at,
        4_100_234_400 + 2 * 86_400
    );
    let minute = json!({"unit": "minute", "duration": 1});
    let (_, created) = snap(&sandbox, KEY, &with_expiry("order-x3", minute)).await;
    let expires_at = sandbox.transaction("order-x3").unwrap().expires_at;
    assert!(
        (now() + 55..=now() + 60).contains(&expires_at),
        "{expires_at}"
    );
    let mut no_expiry = snap_body("order-x4", None);
    no_expiry.as_object_mut().unwrap().remove("expiry");
    assert_eq!(snap(&sandbox, KEY, &no_expiry).await.0, 201);
    let expires_at = sandbox.transaction("order-x4").unwrap().expires_at;
    assert!((now() + 86_395..=now() + 86_400).contains(&expires_at));
    for order_id in ["order-x2", "order-x3", "order-x4"] {
        assert_eq!(
            state(&status(&sandbox, order_id).await.1),
            ("pending", "201")
        );
    }
    let html = page(created["redirect_url"].as_str().unwrap()).await;
    assert!(html.contains("<dt>Pay before</dt>") && html.contains("(Jakarta time)"));

    // Malformed windows are Snap's 400, every failure listed.
    for (expiry, words) in [
        (
            json!({"start_time": "2026-12-06T10:00:00+07:00", "unit": "hours", "duration": 1}),
            vec!["expiry.start_time must be yyyy-MM-dd HH:mm:ss Z"],
        ),
        (
            json!({"start_time": "2026-02-30 10:00:00 +0700", "unit": "hours", "duration": 1}),
            vec!["expiry.start_time"],
        ),
        (
            json!({"unit": "weeks", "duration": 0}),
            vec!["expiry.unit must be", "expiry.duration must be at least 1"],
        ),
        (
            json!({"unit": "days", "duration": i64::MAX / 2}),
            vec!["expiry.duration is too long"],
        ),
        (
            json!({"unit": "days", "duration": "1"}),
            vec!["Invalid Snap transaction"],
        ),
    ] {
        let (code, refused) = snap(&sandbox, KEY, &with_expiry("order-x5", expiry.clone())).await;
        assert_eq!(code, 400, "{expiry}");
        let messages = refused["error_messages"].as_array().unwrap();
        assert_eq!(messages.len(), words.len(), "{refused}");
        for (message, words) in messages.iter().zip(words) {
            assert!(message.as_str().unwrap().contains(words), "{refused}");
        }
    }
    assert_eq!(sandbox.transactions(), 4);
    // Lapsing is silent: nothing was sent.
    assert!(sandbox.notifications_sent().is_empty());
}
