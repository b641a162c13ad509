//! Transactional mail end to end (docs/decisions/0005 §2): orders placed and
//! paid through the saga, mails written by the outbox's trigger, sent by the
//! mail worker (its own "process") to the local Resend (`tools/mail-sink`,
//! the only fake), through the production code path.

use std::time::{Duration, Instant};

use integration::shop::Shop;
use integration::TestDatabase;
use mail_sink::{Config, Message, Sink};
use serde_json::json;

const KEY: &str = "re_integration_key";

async fn sink() -> Sink {
    Sink::start(Config {
        api_key: KEY.into(),
        listen: "127.0.0.1:0".parse().unwrap(),
        announce: false,
    })
    .await
    .unwrap()
}

/// The sink's mails to `to` of `kind`.
fn mails(sink: &Sink, to: &str, kind: &str) -> Vec<Message> {
    sink.messages()
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t == to) && m.kind.as_deref() == Some(kind))
        .collect()
}

async fn wait_for_mail(sink: &Sink, to: &str, kind: &str) -> Message {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(m) = mails(sink, to, kind).into_iter().next() {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "no {kind} mail to {to}: {:?}",
            sink.messages()
                .iter()
                .map(|m| (&m.to, &m.kind))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Makes every waiting mail due now and wakes the mail worker.
async fn retry_now(shop: &Shop) {
    let db = shop.env.db.client().await;
    db.execute(
        "UPDATE mail_deliveries SET next_attempt_at = now() AT TIME ZONE 'UTC' \
         WHERE sent_at IS NULL AND ended_at IS NULL",
        &[],
    )
    .await
    .unwrap();
    db.execute("UPDATE mail_provider SET paused_until = NULL", &[])
        .await
        .unwrap();
    shop.tick().await;
}

async fn fault(sink: &Sink, body: serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/api/faults", sink.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

#[tokio::test]
async fn order_mails_arrive_once_each_in_order_through_outages() {
    let sink = sink().await;
    let shop = Shop::start_with(&[
        ("resend_api_key", KEY),
        ("resend_api_base_url", sink.base.as_str()),
        ("mail_from", "Shop <shop@mail.dev.test>"),
        ("storefront_url", "http://shop.test"),
    ])
    .await;
    // Two mail workers at once (two pods, or a restart overlapping): the
    // claims keep every mail to one of them.
    let _mail = shop.env.start_mail_worker().await;
    let _second = shop.env.start_mail_worker().await;
    let product = shop.env.products(&[("Kopi <Luwak>", 25_000, 50)]).await[0];
    let (_, token) = shop.env.customer_account("Mailer").await;
    let to = "mailer@example.com";

    // Placed, then paid: each mail once, "placed" first.
    let order = shop.order(&token, &[(product, 2)]).await;
    let placed = wait_for_mail(&sink, to, "order_placed").await;
    assert_eq!(placed.from, "Shop <shop@mail.dev.test>");
    assert!(
        placed.subject.contains(&order.to_string()),
        "{}",
        placed.subject
    );
    let text = placed.text.as_deref().unwrap();
    assert!(
        text.contains("Kopi <Luwak>") && text.contains("Rp 50.000"),
        "{text}"
    );
    assert!(
        !placed.html.as_deref().unwrap().contains("<Luwak>"),
        "escaped"
    );
    assert!(placed
        .links
        .contains(&format!("http://shop.test/app/orders/{order}")));
    let (gateway_order, _, _) = shop.initiate(&token, order).await;
    shop.simulate(&gateway_order, "settlement", Some("accept"))
        .await;
    let paid = wait_for_mail(&sink, to, "order_paid").await;
    assert!(placed.received_at <= paid.received_at);
    let key = placed.idempotency_key.clone().unwrap();
    assert!(key.starts_with("mail-"), "{key}");

    // Redelivered events and extra wakes make no second mail.
    let events: Vec<String> = shop
        .env
        .db
        .client()
        .await
        .query(
            "SELECT payload::text FROM outbox WHERE aggregate_id = $1",
            &[&order],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut redis = integration::redis_server::client(&shop.env.redis);
    for _ in 0..5 {
        for event in &events {
            let channel = if event.contains("order.created") {
                "order.created"
            } else {
                "payment.updated"
            };
            let _: i64 = redis::cmd("PUBLISH")
                .arg(channel)
                .arg(event)
                .query(&mut redis)
                .unwrap();
        }
    }
    retry_now(&shop).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mails(&sink, to, "order_placed").len(), 1);
    assert_eq!(mails(&sink, to, "order_paid").len(), 1);

    // The mail API down: the mail waits, then goes once.
    fault(&sink, json!({"status": 503, "count": 1})).await;
    let second = shop.order(&token, &[(product, 1)]).await;
    shop.wait_for_count(
        &format!(
            "SELECT count(*) FROM mail_deliveries WHERE order_id = {second} \
             AND last_error IS NOT NULL AND sent_at IS NULL"
        ),
        1,
    )
    .await;
    retry_now(&shop).await;
    wait_for_mail(&sink, to, "order_placed").await;
    shop.wait_for_count(
        &format!("SELECT count(*) FROM mail_deliveries WHERE order_id = {second} AND sent_at IS NOT NULL"),
        1,
    )
    .await;

    // Rate-limited: nothing is claimed until the pause ends.
    fault(&sink, json!({"status": 429, "count": 1, "retry_after": 30})).await;
    let third = shop.order(&token, &[(product, 1)]).await;
    shop.wait_for_count(
        "SELECT count(*) FROM mail_provider WHERE paused_until > now() AT TIME ZONE 'UTC' + interval '20 seconds'",
        1,
    )
    .await;
    shop.tick().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        shop.count(&format!(
            "SELECT count(*) FROM mail_deliveries WHERE order_id = {third} AND sent_at IS NOT NULL"
        ))
        .await,
        0,
        "paused"
    );
    retry_now(&shop).await;
    shop.wait_for_count(
        &format!(
            "SELECT count(*) FROM mail_deliveries WHERE order_id = {third} AND sent_at IS NOT NULL"
        ),
        1,
    )
    .await;

    // The answer lost after the provider took the mail: the retry carries
    // the same key and bytes, the provider replays, nothing is sent twice.
    fault(&sink, json!({"drop_response": 1})).await;
    let fourth = shop.order(&token, &[(product, 1)]).await;
    shop.wait_for_count(
        &format!(
            "SELECT count(*) FROM mail_deliveries WHERE order_id = {fourth} \
             AND last_error IS NOT NULL AND sent_at IS NULL"
        ),
        1,
    )
    .await;
    retry_now(&shop).await;
    shop.wait_for_count(
        &format!("SELECT count(*) FROM mail_deliveries WHERE order_id = {fourth} AND sent_at IS NOT NULL"),
        1,
    )
    .await;
    assert!(sink.stats().replayed >= 1, "{:?}", sink.stats());
    assert_eq!(mails(&sink, to, "order_placed").len(), 4, "one per order");

    let (mails, attempts, retried): (i64, i64, i64) = {
        let row = shop
            .env
            .db
            .client()
            .await
            .query_one(
                "SELECT count(*), sum(attempts)::bigint, count(*) FILTER (WHERE attempts > 1) \
                 FROM mail_deliveries WHERE sent_at IS NOT NULL",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    eprintln!(
        "mail outage run: {mails} mails sent, {attempts} attempts, {retried} retried; sink {:?}",
        sink.stats()
    );
    assert_eq!(mails, 5, "4 placed + 1 paid");

    // The worker's log names deliveries, never the address or a body.
    let log = shop.env.stderr_of("mail-worker");
    assert!(log.contains("mail sent"), "{log}");
    assert!(!log.contains(to) && !log.contains("Luwak"), "{log}");
}

/// The outbox trigger: which events call for which mail, once per event.
#[tokio::test]
async fn events_write_their_mail_in_their_own_transaction() {
    let db = TestDatabase::create().await;
    let client = db.client().await;
    let user: i64 = client
        .query_one(
            "INSERT INTO users (full_name, email) VALUES ('M', 'm@example.com') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let cases = [
        ("order.created", "pending", Some("order_placed")),
        ("payment.updated", "paid", Some("order_paid")),
        ("payment.updated", "failed", Some("order_failed")),
        ("payment.updated", "expired", Some("order_expired")),
        ("payment.updated", "cancelled", Some("order_cancelled")),
        ("payment.updated", "refunded", None),
        ("payment.updated", "pending", None),
        (
            "payment.refund_required",
            "expired",
            Some("refund_required"),
        ),
        ("maintenance.tick", "", None),
    ];
    for (i, (event, status, mail)) in cases.iter().enumerate() {
        let order = 1000 + i as i64;
        let payload = json!({"type": event, "order_id": order, "user_id": user, "status": status});
        client
            .execute(
                "INSERT INTO outbox (event_id, event_type, aggregate_id, payload) \
                 VALUES (gen_random_uuid(), $1, $2, $3::text::jsonb)",
                &[event, &order, &payload.to_string()],
            )
            .await
            .unwrap();
        let kinds: Vec<String> = client
            .query(
                "SELECT kind FROM mail_deliveries WHERE order_id = $1",
                &[&order],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let expected: Vec<String> = mail.iter().map(|k| k.to_string()).collect();
        assert_eq!(kinds, expected, "{event} {status}");
    }
    // A rolled-back event leaves no mail behind.
    client.execute("BEGIN", &[]).await.unwrap();
    client
        .execute(
            "INSERT INTO outbox (event_id, event_type, aggregate_id, payload) \
             VALUES (gen_random_uuid(), 'order.created', 7, $1::text::jsonb)",
            &[&json!({"user_id": user}).to_string()],
        )
        .await
        .unwrap();
    client.execute("ROLLBACK", &[]).await.unwrap();
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM mail_deliveries WHERE order_id = 7",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}
