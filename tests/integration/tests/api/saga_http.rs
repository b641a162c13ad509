//! The saga end to end on the project host: the HTTP app, the Redis-trigger
//! workers as their own process, real Postgres and Redis, and the local
//! Midtrans sandbox (the only fake) reached through the production code.

use futures::future::join_all;
use integration::shop::{Relay, Shop, MIDTRANS_KEY};
use midtrans_sandbox::signature;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_deny_and_expire_move_the_order_and_give_stock_back_once() {
    let shop = Shop::start().await;
    let (_, token) = shop.env.customer_account("Dewi").await;
    let p = shop
        .env
        .products(&[("Kopi", 25_000, 10), ("Teh", 10_000, 10)])
        .await;

    // Paid: the worker made the pending payment before anyone asked.
    let paid = shop.order(&token, &[(p[0], 2), (p[1], 1)]).await;
    shop.wait_for_count(
        &format!("SELECT count(*) FROM payments WHERE order_id = {paid}"),
        1,
    )
    .await;
    let payment = shop
        .env
        .call("GET", &format!("/payment/order/{paid}"), Some(&token), None)
        .await;
    assert_eq!(payment.status, 200);
    assert_eq!(payment.json["payment"]["status"], "pending");
    assert_eq!(payment.json["payment"]["amount"], 60_000);
    let (gateway_id, snap_token, url) = shop.initiate(&token, paid).await;
    assert!(url.starts_with(&shop.midtrans.base), "{url}");
    assert_eq!(
        shop.initiate(&token, paid).await.1,
        snap_token,
        "the same token while valid"
    );
    assert_eq!(shop.midtrans.transactions(), 1);
    let sent = shop
        .simulate(&gateway_id, "settlement", Some("accept"))
        .await;
    assert_eq!(sent["webhook_status"], 200, "{sent}");
    shop.wait_for_order(&token, paid, "paid").await;
    let payment = shop
        .env
        .call("GET", &format!("/payment/order/{paid}"), Some(&token), None)
        .await;
    assert_eq!(payment.json["payment"]["status"], "paid");
    assert_eq!(payment.json["payment"]["payment_channel"], "bca");
    assert!(payment.json["payment"]["va_number"].is_string());
    assert_eq!(
        (shop.env.stock(p[0]).await, shop.env.stock(p[1]).await),
        (8, 9),
        "paid keeps its stock"
    );
    let r = shop
        .env
        .call(
            "POST",
            "/payment/initiate",
            Some(&token),
            Some(
                json!({"order_id": paid, "customer_name": "D", "customer_email": "d@example.com"}),
            ),
        )
        .await;
    assert_eq!(r.status, 409, "a paid order is not payable");

    // Failed, through the sandbox's payment page (a person's click).
    let denied = shop.order(&token, &[(p[0], 3)]).await;
    assert_eq!(shop.env.stock(p[0]).await, 5);
    let (_, _, page_url) = shop.initiate(&token, denied).await;
    let page = shop.env.http.get(&page_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text().await.unwrap().contains("75.000"),
        "the page shows the amount"
    );
    let click = shop
        .env
        .http
        .post(format!("{page_url}/deny"))
        .send()
        .await
        .unwrap();
    assert!(click.status().is_success(), "{}", click.status());
    shop.wait_for_order(&token, denied, "failed").await;
    shop.wait_for_count(
        &format!(
            "SELECT count(*) FROM orders WHERE id = {denied} AND stock_released_at IS NOT NULL"
        ),
        1,
    )
    .await;
    assert_eq!(shop.env.stock(p[0]).await, 8, "the stock came back");
    // The catalog shows it (written through, not stale).
    let product = shop.env.get(&format!("/product/{}", p[0])).await;
    assert_eq!(product.json["product"]["stock"], 8);

    // Expired.
    let expired = shop.order(&token, &[(p[1], 4)]).await;
    let (gateway_id, _, _) = shop.initiate(&token, expired).await;
    shop.simulate(&gateway_id, "expire", None).await;
    shop.wait_for_order(&token, expired, "expired").await;
    shop.wait_for_count(
        &format!(
            "SELECT count(*) FROM orders WHERE id = {expired} AND stock_released_at IS NOT NULL"
        ),
        1,
    )
    .await;
    assert_eq!(shop.env.stock(p[1]).await, 9);

    // Every event was acknowledged by its consumer, so the relay leaves it.
    shop.wait_for_count("SELECT count(*) FROM outbox WHERE consumed_at IS NULL", 0)
        .await;
    assert_eq!(
        shop.count("SELECT count(*) FROM outbox WHERE event_type = 'payment.updated'")
            .await,
        3
    );
    let list = shop.env.call("GET", "/order", Some(&token), None).await;
    let statuses: Vec<&str> = list.json["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec!["expired", "failed", "paid"],
        "newest first, fresh after each change"
    );
    shop.env.assert_clean();
    shop.workers.as_ref().unwrap().app.stats();
}

/// A signed notification for `gateway_id` as Midtrans would send it.
fn notification(gateway_id: &str, status: &str, status_code: &str, amount: &str) -> Value {
    json!({
        "transaction_time": "2026-12-02 10:00:00",
        "transaction_status": status,
        "transaction_id": "00000000-test",
        "status_message": "midtrans payment notification",
        "status_code": status_code,
        "signature_key": signature(gateway_id, status_code, amount, MIDTRANS_KEY),
        "payment_type": "bank_transfer",
        "order_id": gateway_id,
        "merchant_id": "SANDBOX",
        "gross_amount": amount,
        "currency": "IDR",
    })
}

struct Webhook<'a> {
    shop: &'a Shop,
    sent: usize,
}

impl Webhook<'_> {
    async fn post_raw(&mut self, body: Vec<u8>, content_type: &str) -> u16 {
        self.sent += 1;
        let req = self
            .shop
            .env
            .http
            .post(format!("{}/payment/webhook", self.shop.env.base))
            .header("content-type", content_type)
            .body(body);
        self.shop
            .env
            .send("POST", "/payment/webhook", req)
            .await
            .status
    }

    async fn post(&mut self, body: &Value) -> u16 {
        self.post_raw(body.to_string().into_bytes(), "application/json")
            .await
    }

    /// The payment's status and the number of payment.updated events.
    async fn state(&self, order: i64) -> (String, i64) {
        let client = self.shop.env.db.client().await;
        let row = client
            .query_one(
                "SELECT p.status, (SELECT count(*) FROM outbox WHERE event_type = 'payment.updated' AND aggregate_id = $1) \
                 FROM payments p WHERE p.order_id = $1",
                &[&order],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corpus_of_hostile_notifications_is_rejected_or_harmless() {
    let shop = Shop::start().await;
    let (_, token) = shop.env.customer_account("Eko").await;
    let p = shop.env.products(&[("Kopi", 25_000, 100)]).await;
    let order = shop.order(&token, &[(p[0], 2)]).await;
    let (gid, _, _) = shop.initiate(&token, order).await;
    let other = shop.order(&token, &[(p[0], 1)]).await;
    let (other_gid, _, _) = shop.initiate(&token, other).await;
    let mut hook = Webhook {
        shop: &shop,
        sent: 0,
    };
    let pending = || ("pending".to_string(), 0i64);

    // Forged signatures: 401, nothing changes.
    let good = notification(&gid, "settlement", "200", "50000.00");
    let mut forged = Vec::new();
    for sig in [
        String::new(),
        "0".repeat(128),
        signature(&gid, "200", "50000.00", "another-key"),
        signature(&gid, "200", "50000.00", MIDTRANS_KEY)[..64].to_string(),
        signature(&other_gid, "200", "50000.00", MIDTRANS_KEY),
        signature(&gid, "201", "50000.00", MIDTRANS_KEY),
    ] {
        let mut n = good.clone();
        n["signature_key"] = json!(sig);
        forged.push(n);
    }
    // The amount tampered with under the original signature.
    let mut cheap = good.clone();
    cheap["gross_amount"] = json!("1.00");
    forged.push(cheap);
    let mut code = good.clone();
    code["status_code"] = json!("202");
    forged.push(code);
    for n in &forged {
        assert_eq!(hook.post(n).await, 401, "{n}");
        assert_eq!(hook.state(order).await, pending());
    }

    // Signed, but the amount is not the payment's: refused.
    for amount in ["1.00", "49999.00", "50000.50", "500000.00"] {
        let n = notification(&gid, "settlement", "200", amount);
        assert_eq!(hook.post(&n).await, 400, "{amount}");
        assert_eq!(hook.state(order).await, pending());
    }
    // Signed for an unknown gateway order: 404.
    for unknown in ["order-999999-1-deadbeef", "x", "order-1-1-00000000"] {
        let n = notification(unknown, "settlement", "200", "50000.00");
        assert_eq!(hook.post(&n).await, 404, "{unknown}");
    }
    // Signed, but the status is a lie (Midtrans still says pending): the
    // status API wins, nothing moves.
    for status in [
        "settlement",
        "capture",
        "deny",
        "expire",
        "cancel",
        "refund",
    ] {
        let n = notification(&gid, status, "200", "50000.00");
        assert_eq!(hook.post(&n).await, 200, "{status}");
        assert_eq!(hook.state(order).await, pending(), "{status}");
    }
    // Malformed bodies: 4xx JSON, never a 500.
    for raw in [
        "", "not json", "[]", "{}", "null", "{\"order_id\": 5}",
        "{\"order_id\":\"a\",\"status_code\":200,\"gross_amount\":\"1.00\",\"signature_key\":\"x\",\"transaction_status\":\"settlement\"}",
        "{\"order_id\":\"a\"", "\u{0}",
    ] {
        let status = hook.post_raw(raw.as_bytes().to_vec(), "application/json").await;
        assert_eq!(status, 400, "{raw:?}");
    }
    let big = format!("{{\"pad\":\"{}\"", "y".repeat(100 * 1024));
    assert_eq!(
        hook.post_raw(big.into_bytes(), "application/json").await,
        400
    );
    let kept_of_big = shop
        .count("SELECT max(octet_length(raw_body))::bigint FROM payment_notifications WHERE verdict = 'malformed'")
        .await;
    assert_eq!(
        kept_of_big,
        16 * 1024,
        "an unverified body is kept only in part"
    );
    assert_eq!(
        hook.post_raw(good.to_string().into_bytes(), "text/plain")
            .await,
        415
    );
    // 2 MiB declared: refused before a byte of it is read.
    assert_eq!(
        shop.env
            .declared_length_status("/payment/webhook", "application/json", 2 * 1024 * 1024)
            .await,
        413
    );
    hook.sent += 1;
    assert_eq!(hook.state(order).await, pending());

    // The real thing: Midtrans settles; the genuine notification applies once.
    shop.midtrans.set_status(&gid, "settlement", Some("accept"));
    assert_eq!(hook.post(&good).await, 200);
    assert_eq!(hook.state(order).await, ("paid".to_string(), 1));
    // Replays: harmless.
    for _ in 0..5 {
        assert_eq!(hook.post(&good).await, 200);
    }
    assert_eq!(hook.state(order).await, ("paid".to_string(), 1));
    // Out of order: a late pending, a late expire (status API: settled).
    for (status, code) in [("pending", "201"), ("expire", "202"), ("deny", "202")] {
        let n = notification(&gid, status, code, "50000.00");
        assert_eq!(hook.post(&n).await, 200);
        assert_eq!(hook.state(order).await, ("paid".to_string(), 1), "{status}");
    }
    // A refund does move a paid payment (and only that).
    shop.midtrans.set_status(&gid, "refund", None);
    assert_eq!(
        hook.post(&notification(&gid, "refund", "200", "50000.00"))
            .await,
        200
    );
    assert_eq!(hook.state(order).await, ("refunded".to_string(), 2));
    shop.wait_for_order(&token, order, "paid").await;

    assert!(hook.sent >= 40, "corpus of {} notifications", hook.sent);
    // Every notification was kept with its verdict.
    let kept = shop
        .count("SELECT count(*) FROM payment_notifications")
        .await;
    assert_eq!(
        kept as usize,
        hook.sent - 2,
        "all but the 415 and the 413 (never read)"
    );
    let verdicts = shop
        .count("SELECT count(DISTINCT verdict) FROM payment_notifications")
        .await;
    assert_eq!(
        verdicts, 6,
        "malformed, bad_signature, amount_mismatch, unknown_order, applied, already_applied"
    );
    // The other order was never touched.
    assert_eq!(hook.state(other).await, pending());
    eprintln!("webhook corpus: {} notifications", hook.sent);
    shop.env.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compensation_runs_once_for_redelivered_events_and_racing_notifications() {
    let shop = Shop::start().await;
    let (_, token) = shop.env.customer_account("Fajar").await;
    let p = shop.env.products(&[("Kopi", 25_000, 10)]).await;
    let order = shop.order(&token, &[(p[0], 4)]).await;
    let (gid, _, _) = shop.initiate(&token, order).await;
    assert_eq!(shop.env.stock(p[0]).await, 6);

    // Ten identical deny notifications at once.
    shop.midtrans.set_status(&gid, "deny", Some("deny"));
    let n = notification(&gid, "deny", "202", "100000.00");
    let replies = join_all((0..10).map(|_| {
        let req = shop
            .env
            .http
            .post(format!("{}/payment/webhook", shop.env.base))
            .header("content-type", "application/json")
            .body(n.to_string());
        shop.env.send("POST", "/payment/webhook", req)
    }))
    .await;
    let applied = replies
        .iter()
        .filter(|r| r.json["status"] == "applied")
        .count();
    assert!(replies.iter().all(|r| r.status == 200));
    assert_eq!(applied, 1, "one notification applied, nine already applied");
    shop.wait_for_order(&token, order, "failed").await;
    shop.wait_for_count("SELECT count(*) FROM outbox WHERE consumed_at IS NULL", 0)
        .await;
    assert_eq!(shop.env.stock(p[0]).await, 10);

    // The event delivered three more times (as the relay would).
    let payload: String = shop
        .env
        .db
        .client()
        .await
        .query_one(
            "SELECT payload::text FROM outbox WHERE event_type = 'payment.updated'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let mut redis = integration::redis_client(&shop.env.redis);
    for _ in 0..3 {
        let _: i64 = redis::cmd("PUBLISH")
            .arg("payment.updated")
            .arg(&payload)
            .query(&mut redis)
            .unwrap();
    }
    // And order.created again: still one payment.
    let created: String = shop
        .env
        .db
        .client()
        .await
        .query_one(
            "SELECT payload::text FROM outbox WHERE event_type = 'order.created'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let _: i64 = redis::cmd("PUBLISH")
        .arg("order.created")
        .arg(&created)
        .query(&mut redis)
        .unwrap();
    // Garbage on the channels is refused and logged, never acted on.
    for junk in ["not json", "{}", "{\"type\":\"payment.updated\"}"] {
        let _: i64 = redis::cmd("PUBLISH")
            .arg("payment.updated")
            .arg(junk)
            .query(&mut redis)
            .unwrap();
    }
    // One connection delivers in order: once the three junk messages are
    // refused, every duplicate before them has been handled.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while shop
        .env
        .stderr_of("payment-updated-worker")
        .matches("event not handled")
        .count()
        < 3
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the junk was never refused"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(shop.env.stock(p[0]).await, 10, "released exactly once");
    assert_eq!(shop.count("SELECT count(*) FROM payments").await, 1);
    assert_eq!(shop.count("SELECT count(*) FROM processed_events").await, 2);
    let logs = shop.env.stderr_of("payment-updated-worker");
    assert!(logs.contains("event not handled"), "{logs}");
    assert!(!logs.contains(MIDTRANS_KEY));
    shop.env.assert_clean();
}

/// The worker process dies while 200 orders are placed and comes back
/// later: the relay (Kafka off: redelivery only) re-publishes what no worker
/// acknowledged, and every order gets exactly one payment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_order_loses_its_payment_when_the_workers_die() {
    let mut shop = Shop::start().await;
    let p = shop.env.products(&[("Kopi", 1_000, 10_000)]).await[0];
    let mut buyers = Vec::new();
    for i in 0..20 {
        buyers.push(shop.env.customer_account(&format!("Lost{i}")).await.1);
    }
    place(&shop, &buyers, p, 0).await;
    // Killed mid-way: the second hundred is published to nobody.
    shop.workers = None;
    place(&shop, &buyers, p, 1).await;
    assert_eq!(shop.count("SELECT count(*) FROM orders").await, 200);
    assert!(shop.count("SELECT count(*) FROM payments").await < 200);

    let relay = Relay::start(&shop.env);
    // Restarted later (as the supervisor does).
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    shop.workers = Some(shop.env.start_workers().await);
    shop.wait_for_count(
        "SELECT count(*) FROM outbox WHERE event_type = 'order.created' AND consumed_at IS NULL",
        0,
    )
    .await;
    relay.stop().await;
    assert_eq!(
        shop.count("SELECT count(*) FROM payments").await,
        200,
        "one payment per order"
    );
    assert_eq!(
        shop.count("SELECT count(DISTINCT order_id) FROM payments")
            .await,
        200
    );
    assert_eq!(
        shop.count("SELECT count(*) FROM payment_attempts").await,
        200,
        "none twice"
    );
    assert_eq!(
        shop.count("SELECT count(*) FROM processed_events WHERE consumer = 'payments'")
            .await,
        200
    );
    let redelivered = shop
        .count("SELECT count(*) FROM outbox WHERE publish_attempts > 0")
        .await;
    eprintln!("no loss: 200 orders, workers down for 100 of them, {redelivered} re-published, 200 payments");
    assert!(redelivered >= 1);
    shop.env.assert_clean();
}

/// 100 orders of one unit of `product`, spread over `buyers`, at once.
async fn place(shop: &Shop, buyers: &[String], product: i64, round: usize) {
    let line = [(product, 1)];
    join_all((0..100).map(|i| shop.order(&buyers[(i + round) % buyers.len()], &line))).await;
}

/// `POST /payment/initiate`'s refusals: bad bodies are 400, Midtrans
/// refusing the key is 502, Midtrans unreachable or no key is 503 — JSON
/// every time, and nothing is stored that could be answered later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initiate_refuses_bad_input_and_reports_midtrans_failures() {
    let shop = Shop::start_with(&[("midtrans_server_key", "SB-Mid-server-not-the-sandboxs")]).await;
    let (_, token) = shop.env.customer_account("Gita").await;
    let p = shop.env.products(&[("Kopi", 25_000, 10)]).await;
    let order = shop.order(&token, &[(p[0], 1)]).await;
    for (body, why) in [
        (json!({}), "empty"),
        (json!({"order_id": order}), "missing fields"),
        (
            json!({"order_id": "1", "customer_name": "G", "customer_email": "g@example.com"}),
            "string id",
        ),
        (
            json!({"order_id": 0, "customer_name": "G", "customer_email": "g@example.com"}),
            "zero id",
        ),
        (
            json!({"order_id": -5, "customer_name": "G", "customer_email": "g@example.com"}),
            "negative id",
        ),
        (
            json!({"order_id": order, "customer_name": "", "customer_email": "g@example.com"}),
            "empty name",
        ),
        (
            json!({"order_id": order, "customer_name": "G", "customer_email": "not-an-email"}),
            "bad email",
        ),
        (
            json!({"order_id": order, "customer_name": "G", "customer_email": "g@example.com", "amount": 1}),
            "a client amount",
        ),
        (json!([1, 2]), "not an object"),
    ] {
        let r = shop
            .env
            .call("POST", "/payment/initiate", Some(&token), Some(body))
            .await;
        assert_eq!(r.status, 400, "{why}: {:?}", r.json);
    }
    let r = shop
        .env
        .call("GET", "/payment/order/abc", Some(&token), None)
        .await;
    assert_eq!(r.status, 400);
    let r = shop.env.call("GET", "/payment/order/1", None, None).await;
    assert_eq!(r.status, 401);
    let unknown =
        json!({"order_id": order + 100, "customer_name": "G", "customer_email": "g@example.com"});
    let r = shop
        .env
        .call("POST", "/payment/initiate", Some(&token), Some(unknown))
        .await;
    assert_eq!(r.status, 404);

    // The sandbox refuses this key: 502, and no token is stored.
    let body = json!({"order_id": order, "customer_name": "G", "customer_email": "g@example.com"});
    let r = shop
        .env
        .call(
            "POST",
            "/payment/initiate",
            Some(&token),
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, 502, "{:?}", r.json);
    assert_eq!(r.error(), "The payment provider refused the request");
    assert_eq!(
        shop.count("SELECT count(*) FROM payment_attempts WHERE snap_token IS NOT NULL")
            .await,
        0
    );
    assert!(!shop
        .env
        .stderr_of("payments-api")
        .contains("SB-Mid-server-not-the-sandboxs"));

    // Midtrans unreachable: 503.
    let down = Shop::start_with(&[("midtrans_snap_base_url", "http://127.0.0.1:1")]).await;
    let (_, token) = down.env.customer_account("Hadi").await;
    let p = down.env.products(&[("Kopi", 25_000, 10)]).await;
    let order = down.order(&token, &[(p[0], 1)]).await;
    let body = json!({"order_id": order, "customer_name": "H", "customer_email": "h@example.com"});
    let r = down
        .env
        .call("POST", "/payment/initiate", Some(&token), Some(body))
        .await;
    assert_eq!(r.status, 503, "{:?}", r.json);

    // No server key at all: payments are off, said as a 503.
    let off = Shop::start_with(&[("midtrans_server_key", "")]).await;
    let (_, token) = off.env.customer_account("Indah").await;
    let p = off.env.products(&[("Kopi", 25_000, 10)]).await;
    let order = off.order(&token, &[(p[0], 1)]).await;
    let body = json!({"order_id": order, "customer_name": "I", "customer_email": "i@example.com"});
    let r = off
        .env
        .call("POST", "/payment/initiate", Some(&token), Some(body))
        .await;
    assert_eq!((r.status, r.error()), (503, "Payments are not configured"));
    shop.env.assert_clean();
    down.env.assert_clean();
    off.env.assert_clean();
}

/// Initiate never gets stuck: a Snap reply lost after Midtrans created the
/// transaction left the attempt without a token, and every later Pay asked
/// again under the same order id, which Midtrans refuses ("already used")
/// — a 502 until the attempt expired. Now the orphan is closed and the next
/// attempt opened in the same call; and a double-clicked Pay, whose second
/// click meets the first's order id, waits for the first's token instead of
/// failing.
#[tokio::test]
async fn a_lost_snap_reply_or_a_double_click_never_makes_an_order_unpayable() {
    let shop = Shop::start().await;
    let (_, token) = shop.env.customer_account("Hana").await;
    let p = shop.env.products(&[("Kopi", 25_000, 10)]).await;
    let body = |order: i64| {
        Some(
            json!({"order_id": order, "customer_name": "Hana", "customer_email": "hana@example.com"}),
        )
    };

    // The reply is lost: the shopper sees "try again" (503), Midtrans holds
    // attempt 1's order id.
    let order = shop.order(&token, &[(p[0], 1)]).await;
    shop.midtrans.lose_next_snap_replies(1);
    let lost = shop
        .env
        .call("POST", "/payment/initiate", Some(&token), body(order))
        .await;
    assert_eq!(lost.status, 503, "{:?}", lost.json);
    assert_eq!(shop.midtrans.transactions(), 1);
    // Pay again: attempt 1 is closed, attempt 2 gets its token.
    let (gateway_id, snap_token, _) = shop.initiate(&token, order).await;
    assert!(
        gateway_id.starts_with(&format!("order-{order}-2-")),
        "{gateway_id}"
    );
    assert_eq!(shop.midtrans.transactions(), 2);
    let attempts = shop
        .count(&format!(
            "SELECT count(*) FROM payment_attempts a JOIN payments p ON p.id = a.payment_id \
             WHERE p.order_id = {order} AND a.snap_token IS NULL \
             AND a.expires_at <= now() AT TIME ZONE 'UTC'"
        ))
        .await;
    assert_eq!(attempts, 1, "attempt 1 closed without a token");
    assert_eq!(
        shop.initiate(&token, order).await.1,
        snap_token,
        "then reused"
    );
    shop.simulate(&gateway_id, "settlement", Some("accept"))
        .await;
    shop.wait_for_order(&token, order, "paid").await;

    // Double clicks, with Snap slow enough that the second click always
    // meets the first's order id before its token is saved.
    shop.midtrans
        .delay_snap_replies(std::time::Duration::from_millis(300));
    for _ in 0..3 {
        let order = shop.order(&token, &[(p[0], 1)]).await;
        let clicks = (0..2).map(|_| {
            shop.env
                .call("POST", "/payment/initiate", Some(&token), body(order))
        });
        let replies = futures::future::join_all(clicks).await;
        for r in &replies {
            assert_eq!(r.status, 200, "{:?}", r.json);
        }
        assert_eq!(
            replies[0].json["gateway_token"], replies[1].json["gateway_token"],
            "both clicks get the one token"
        );
        let attempts = shop
            .count(&format!(
                "SELECT count(*) FROM payment_attempts a JOIN payments p ON p.id = a.payment_id \
                 WHERE p.order_id = {order}"
            ))
            .await;
        assert_eq!(attempts, 1, "a double click opens no second attempt");
    }
    shop.env.assert_clean();
}
