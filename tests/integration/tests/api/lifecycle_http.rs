//! Every order ends (issue 22): unpaid orders expire, a lost notification
//! is found by asking, a customer cancels, money that arrives for an ended
//! order is refunded — on the project host with the workers, real Postgres
//! and Redis, and the Midtrans sandbox. A test publishes `maintenance.tick`
//! itself (the relay's leader does in a deployment).

use futures::future::join_all;
use integration::shop::Shop;
use serde_json::json;

/// Orders never started expire one second after they are placed.
async fn shop() -> Shop {
    Shop::start_with(&[("order_unpaid_ttl_secs", "1")]).await
}

async fn released(shop: &Shop, order: i64) {
    shop.wait_for_count(
        &format!(
            "SELECT count(*) FROM orders WHERE id = {order} AND stock_released_at IS NOT NULL"
        ),
        1,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_checkouts_expire_once_and_late_money_is_refunded() {
    let shop = shop().await;
    let (_, token) = shop.env.customer_account("Ayu").await;
    let p = shop.env.products(&[("Kopi", 10_000, 10)]).await[0];
    let never_paid = shop.order(&token, &[(p, 3)]).await;
    let started = shop.order(&token, &[(p, 2)]).await;
    let (gateway_id, _, _) = shop.initiate(&token, started).await;
    assert_eq!(shop.env.stock(p).await, 5);

    // The never-started order's TTL passes; the started one keeps its
    // 24-hour Snap window and is only asked about.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    shop.tick().await;
    shop.wait_for_order(&token, never_paid, "expired").await;
    released(&shop, never_paid).await;
    assert_eq!(shop.env.stock(p).await, 8, "its 3 units came back");
    shop.wait_for_count(
        &format!("SELECT count(*) FROM orders WHERE id = {started} AND checks = 1"),
        1,
    )
    .await;
    assert_eq!(shop.order_status(&token, started).await, "pending");
    assert_eq!(shop.midtrans.expire_calls(&gateway_id), 0);

    // Another sweep changes nothing: the stock came back exactly once.
    shop.tick().await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(shop.env.stock(p).await, 8);
    assert_eq!(
        shop.count(&format!(
            "SELECT count(*) FROM outbox WHERE aggregate_id = {never_paid} \
             AND event_type = 'payment.updated'"
        ))
        .await,
        1
    );

    // The started order's window closes: closed at Midtrans, then expired.
    shop.make_due(started).await;
    shop.tick().await;
    shop.wait_for_order(&token, started, "expired").await;
    released(&shop, started).await;
    assert_eq!(shop.env.stock(p).await, 10);
    assert_eq!(shop.midtrans.expire_calls(&gateway_id), 1);
    assert_eq!(
        shop.midtrans.status_of(&gateway_id).as_deref(),
        Some("expire")
    );

    // Money arrives anyway (a payment Midtrans took in flight): refunded,
    // announced once, and the order stays expired with its stock back.
    let sent = shop.simulate(&gateway_id, "settlement", None).await;
    assert_eq!(sent["webhook_status"], 200, "{sent}");
    shop.wait_for_count(
        &format!(
            "SELECT count(*) FROM payment_attempts WHERE gateway_order_id = '{gateway_id}' \
             AND refund_requested_at IS NOT NULL"
        ),
        1,
    )
    .await;
    let refunds = shop.midtrans.refunds(&gateway_id);
    assert_eq!(refunds, vec![(format!("refund-{gateway_id}"), 20_000)]);
    let late = "SELECT count(*) FROM payment_notifications WHERE verdict = 'paid_late'";
    assert_eq!(shop.count(late).await, 1);
    assert_eq!(
        shop.count(
            "SELECT count(*) FROM outbox WHERE event_type = 'payment.refund_required' \
             AND payload ->> 'reason' = 'paid_after_expired'"
        )
        .await,
        1
    );
    // The same money reported again asks for nothing more.
    shop.simulate(&gateway_id, "settlement", None).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(shop.midtrans.refunds(&gateway_id).len(), 1);
    assert_eq!(shop.count(late).await, 1);
    assert_eq!(shop.order_status(&token, started).await, "expired");
    assert_eq!(shop.env.stock(p).await, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_notification_is_found_by_asking_midtrans() {
    let shop = shop().await;
    let (_, token) = shop.env.customer_account("Budi").await;
    let p = shop.env.products(&[("Teh", 5_000, 10)]).await[0];
    let order = shop.order(&token, &[(p, 4)]).await;
    let (gateway_id, _, _) = shop.initiate(&token, order).await;
    // Paid at Midtrans; its notification never arrives.
    shop.midtrans.set_status(&gateway_id, "settlement", None);
    shop.tick().await;
    shop.wait_for_order(&token, order, "paid").await;
    assert_eq!(shop.env.stock(p).await, 6, "paid keeps its stock");
    assert_eq!(
        shop.count(
            "SELECT count(*) FROM payment_notifications \
             WHERE source = 'status_check' AND verdict = 'applied'"
        )
        .await,
        1
    );
    assert_eq!(shop.midtrans.expire_calls(&gateway_id), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_cancels_their_own_unpaid_order_once() {
    let shop = Shop::start().await;
    let (_, token) = shop.env.customer_account("Citra").await;
    let (_, other) = shop.env.customer_account("Dodi").await;
    let p = shop.env.products(&[("Gula", 2_000, 10)]).await[0];
    let order = shop.order(&token, &[(p, 5)]).await;
    let (gateway_id, _, _) = shop.initiate(&token, order).await;
    let path = format!("/order/{order}/cancel");

    assert_eq!(shop.env.call("POST", &path, None, None).await.status, 401);
    let r = shop.env.call("POST", &path, Some(&other), None).await;
    assert_eq!(r.status, 404, "another's order is not found");
    let r = shop
        .env
        .call("POST", "/order/abc/cancel", Some(&token), None)
        .await;
    assert_eq!(r.status, 400);
    let r = shop
        .env
        .call("POST", "/order/999999/cancel", Some(&token), None)
        .await;
    assert_eq!(r.status, 404);
    let r = shop.env.call("GET", &path, Some(&token), None).await;
    assert_eq!(r.status, 405);

    let r = shop.env.call("POST", &path, Some(&token), None).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json, json!({"order_id": order, "status": "cancelled"}));
    shop.wait_for_order(&token, order, "cancelled").await;
    released(&shop, order).await;
    assert_eq!(shop.env.stock(p).await, 10);
    assert_eq!(
        shop.midtrans.status_of(&gateway_id).as_deref(),
        Some("expire"),
        "closed at Midtrans: it can no longer be paid"
    );
    let again = shop.env.call("POST", &path, Some(&token), None).await;
    assert_eq!(again.status, 200, "idempotent");
    assert_eq!(shop.env.stock(p).await, 10);
    let r = shop
        .env
        .call(
            "POST",
            "/payment/initiate",
            Some(&token),
            Some(
                json!({"order_id": order, "customer_name": "C", "customer_email": "c@example.com"}),
            ),
        )
        .await;
    assert_eq!(r.status, 409, "a cancelled order is not payable");

    // Midtrans's notification of the cancel's own expire applied before
    // the cancel reads the answer (the worst order; issue 22's race), and
    // the Cancel clicked twice at once: both answer cancelled, the order
    // ends cancelled (not expired), its stock comes back once.
    shop.midtrans.notify_actions_before_answering(true);
    let raced = shop.order(&token, &[(p, 3)]).await;
    let (raced_gateway_id, _, _) = shop.initiate(&token, raced).await;
    let raced_path = format!("/order/{raced}/cancel");
    let clicks =
        join_all((0..2).map(|_| shop.env.call("POST", &raced_path, Some(&token), None))).await;
    for r in &clicks {
        assert_eq!(r.status, 200, "{:?}", r.json);
        assert_eq!(r.json, json!({"order_id": raced, "status": "cancelled"}));
    }
    shop.wait_for_order(&token, raced, "cancelled").await;
    released(&shop, raced).await;
    assert_eq!(shop.env.stock(p).await, 10);
    assert_eq!(
        shop.count(&format!(
            "SELECT count(*) FROM outbox WHERE aggregate_id = {raced} \
             AND event_type = 'payment.updated' AND payload ->> 'status' = 'cancelled'"
        ))
        .await,
        1
    );
    assert_eq!(
        shop.midtrans.status_of(&raced_gateway_id).as_deref(),
        Some("expire")
    );
    shop.midtrans.notify_actions_before_answering(false);

    // Never started (maybe no payment yet): cancelled all the same.
    let bare = shop.order(&token, &[(p, 1)]).await;
    let r = shop
        .env
        .call("POST", &format!("/order/{bare}/cancel"), Some(&token), None)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    shop.wait_for_order(&token, bare, "cancelled").await;

    // Paid: too late to cancel.
    let paid = shop.order(&token, &[(p, 2)]).await;
    let (paid_gateway_id, _, _) = shop.initiate(&token, paid).await;
    shop.simulate(&paid_gateway_id, "settlement", None).await;
    shop.wait_for_order(&token, paid, "paid").await;
    let r = shop
        .env
        .call("POST", &format!("/order/{paid}/cancel"), Some(&token), None)
        .await;
    assert_eq!(r.status, 409, "{:?}", r.json);
    assert_eq!(shop.env.stock(p).await, 8);
}

/// The cancel's token is taken by the payments service on the connection
/// it publishes the cancel's event on (one Redis connection per cancel):
/// the route still answers the `RateLimit` fields, and a refused cancel
/// changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancels_are_rate_limited_per_customer_by_the_service() {
    // Two tokens that do not come back within the test.
    let shop = Shop::start_with(&[("rate_limit", "2/0.01")]).await;
    let (_, token) = shop.env.customer_account("Hana").await;
    let (_, other) = shop.env.customer_account("Indra").await;
    let p = shop.env.products(&[("Garam", 1_000, 10)]).await[0];
    let (first, second) = (
        shop.order(&token, &[(p, 1)]).await,
        shop.order(&token, &[(p, 1)]).await,
    );
    let env = &shop.env;
    let cancel = |order: i64, who: &str| {
        let path = format!("/order/{order}/cancel");
        let who = who.to_string();
        async move { env.call("POST", &path, Some(&who), None).await }
    };
    for remaining in [1, 0] {
        let r = cancel(first, &token).await;
        assert_eq!(r.status, 200, "{:?}", r.json);
        assert_eq!(
            r.header("ratelimit-policy"),
            Some(r#""payment-write";q=2;w=200"#)
        );
        let state = r.header("ratelimit").unwrap();
        assert!(
            state.starts_with(&format!(r#""payment-write";r={remaining};t="#)),
            "{state}"
        );
    }
    let r = cancel(second, &token).await;
    assert_eq!(r.status, 429, "{:?}", r.json);
    assert_eq!(r.header("retry-after"), Some("100"));
    // Refused before anything was asked or changed: the order is pending,
    // no cancel was written for it; another customer has a bucket of their
    // own (and is refused as a stranger, not as a spender).
    assert_eq!(shop.order_status(&token, second).await, "pending");
    assert_eq!(
        shop.count(&format!(
            "SELECT count(*) FROM outbox WHERE aggregate_id = {second} \
             AND event_type = 'payment.updated'"
        ))
        .await,
        0
    );
    assert_eq!(cancel(second, &other).await.status, 404);
    shop.wait_for_order(&token, first, "cancelled").await;
}

/// Expiry and a settlement of the same order at the same moment: each order
/// ends paid with its stock kept, or expired with its stock back and the
/// money (if Midtrans took it anyway) refunded — never both, never neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_racing_a_settlement_ends_exactly_one_way() {
    let rounds: usize = std::env::var("LIFECYCLE_RACE_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);
    let shop = shop().await;
    let (_, token) = shop.env.customer_account("Eka").await;
    let p = shop
        .env
        .products(&[("Beras", 1_000, i32::try_from(rounds).unwrap())])
        .await[0];
    let mut orders = Vec::new();
    for _ in 0..rounds {
        let order = shop.order(&token, &[(p, 1)]).await;
        let (gateway_id, _, _) = shop.initiate(&token, order).await;
        shop.make_due(order).await;
        orders.push((order, gateway_id));
    }
    // The sweep takes the orders one by one, first placed first; the
    // settlements arrive spread over the same span, last placed first, so
    // the early orders meet the sweep first, the late ones their money, and
    // those in the middle both at once.
    let shop_ref = &shop;
    let settlements = join_all(
        orders
            .iter()
            .enumerate()
            .map(|(i, (_, gateway_id))| async move {
                tokio::time::sleep(std::time::Duration::from_millis(8 * (rounds - i) as u64)).await;
                shop_ref.simulate(gateway_id, "settlement", None).await
            }),
    );
    let (_, _) = tokio::join!(settlements, shop.tick());
    shop.wait_for_count(
        &format!("SELECT count(*) FROM orders WHERE user_id = (SELECT user_id FROM orders WHERE id = {}) AND status = 'pending'", orders[0].0),
        0,
    )
    .await;
    let (mut paid, mut expired_closed, mut expired_refunded) = (0, 0, 0);
    for (order, gateway_id) in &orders {
        let status = shop.order_status(&token, *order).await;
        let refunds = shop.midtrans.refunds(gateway_id).len();
        match status.as_str() {
            "paid" => {
                assert_eq!(refunds, 0, "order {order}: paid and refunded");
                paid += 1;
            }
            "expired" if refunds == 1 => expired_refunded += 1,
            "expired" => {
                assert_eq!(
                    shop.midtrans.status_of(gateway_id).as_deref(),
                    Some("expire"),
                    "order {order}: expired while Midtrans holds its money"
                );
                expired_closed += 1;
            }
            other => panic!("order {order} ended {other}"),
        }
    }
    eprintln!(
        "race of {rounds}: {paid} paid, {expired_closed} expired and closed at Midtrans, \
         {expired_refunded} expired and refunded"
    );
    assert_eq!(paid + expired_closed + expired_refunded, rounds);
    shop.wait_for_count(
        "SELECT count(*) FROM orders WHERE status = 'expired' AND stock_released_at IS NULL",
        0,
    )
    .await;
    assert_eq!(
        shop.env.stock(p).await,
        i32::try_from(rounds - paid).unwrap(),
        "every expired order's unit came back once, every paid one's stayed sold"
    );
}
