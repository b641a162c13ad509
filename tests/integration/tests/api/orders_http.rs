//! `/order` through the composed `orders-api` on the project host, with real
//! Postgres and Redis: prices from the catalog, stock that is never oversold,
//! Idempotency-Key, caches scoped to their user, bad input as 4xx JSON.

use std::collections::HashSet;

use futures::future::join_all;
use integration::TestEnv;
use serde_json::{json, Value};

fn items(lines: &[(i64, i64)]) -> Value {
    json!({"items": lines.iter().map(|(p, q)| json!({"product_id": p, "quantity": q})).collect::<Vec<_>>()})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_priced_by_the_catalog_and_reserves_stock() {
    let env = TestEnv::start().await;
    let (user, token) = env.customer_account("Ayu").await;
    let p = env
        .products(&[("Kopi", 25_000, 10), ("Teh", 10_000, 3)])
        .await;
    // The catalog's cached product and list are warm before the order.
    assert_eq!(
        env.get(&format!("/product/{}", p[0])).await.json["product"]["stock"],
        10
    );
    let listed_before = env.get("/product").await.json["total"].clone();
    let versions = || -> (Option<i64>, Option<i64>) {
        let mut redis = integration::redis_client(&env.redis);
        redis::cmd("MGET")
            .arg("catalog:list-version")
            .arg("catalog:list-count-version")
            .query(&mut redis)
            .unwrap()
    };
    let (pages_before, count_before) = versions();

    let r = env
        .call(
            "POST",
            "/order",
            Some(&token),
            Some(items(&[(p[1], 1), (p[0], 2), (p[1], 1)])),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    let order = &r.json["order"];
    assert_eq!(order["user_id"], user);
    assert_eq!(order["status"], "pending");
    assert_eq!(order["total_price"], 2 * 25_000 + 2 * 10_000);
    let lines: Vec<(i64, i64, i64)> = order["order_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["product_id"].as_i64().unwrap(),
                i["quantity"].as_i64().unwrap(),
                i["price"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![(p[0], 2, 25_000), (p[1], 2, 10_000)],
        "merged, catalog prices"
    );
    assert_eq!((env.stock(p[0]).await, env.stock(p[1]).await), (8, 1));
    // The cached product was written through, not left stale.
    assert_eq!(
        env.get(&format!("/product/{}", p[0])).await.json["product"]["stock"],
        8
    );
    let list = env.get("/product").await;
    let listed = list.json["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == p[1])
        .cloned()
        .unwrap();
    assert_eq!(listed["stock"], 1);
    // The order changed what the pages show, not which products they list:
    // the pages' version moved, the count's (and its cached total) did not,
    // so the page above was refilled without counting every product.
    let (pages_after, count_after) = versions();
    assert!(
        pages_after > pages_before,
        "{pages_before:?} → {pages_after:?}"
    );
    assert_eq!(count_after, count_before);
    assert_eq!(list.json["total"], listed_before);
    let cached_total: Option<i64> = redis::cmd("GET")
        .arg(format!("catalog:list-count:v{}", count_after.unwrap_or(0)))
        .query(&mut integration::redis_client(&env.redis))
        .unwrap();
    assert_eq!(
        cached_total.map(Value::from),
        Some(listed_before),
        "the total stays cached"
    );

    let id = order["id"].as_i64().unwrap();
    let got = env
        .call("GET", &format!("/order/{id}"), Some(&token), None)
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json["order"], *order);
    let again = env
        .call("GET", &format!("/order/{id}"), Some(&token), None)
        .await;
    assert_eq!(again.json["order"], *order, "the cached copy is the same");
    let list = env.call("GET", "/order", Some(&token), None).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json["total"], 1);
    assert_eq!(list.json["orders"][0], *order);

    // The event went to the outbox with the order, and was published.
    let client = env.db.client().await;
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM outbox WHERE event_type = 'order.created' AND aggregate_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    env.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_the_problem_and_change_nothing() {
    let env = TestEnv::start().await;
    let (_, token) = env.customer_account("Budi").await;
    let p = env
        .products(&[("Kopi", 25_000, 2), ("Gula", 5_000, 5)])
        .await;

    let r = env
        .call(
            "POST",
            "/order",
            Some(&token),
            Some(items(&[(p[0], 3), (p[1], 1)])),
        )
        .await;
    assert_eq!(r.status, 409);
    assert!(
        r.error().contains(&p[0].to_string()) && r.error().contains("Kopi"),
        "{}",
        r.error()
    );
    let r = env
        .call(
            "POST",
            "/order",
            Some(&token),
            Some(items(&[(p[1], 1), (999_999, 1)])),
        )
        .await;
    assert_eq!(r.status, 404);
    assert!(r.error().contains("999999"));
    assert_eq!(
        (env.stock(p[0]).await, env.stock(p[1]).await),
        (2, 5),
        "nothing reserved"
    );

    for (body, why) in [
        (json!({"items": []}), "empty"),
        (
            json!({"items": [{"product_id": p[0], "quantity": 0}]}),
            "zero",
        ),
        (
            json!({"items": [{"product_id": p[0], "quantity": -1}]}),
            "negative",
        ),
        (
            json!({"items": [{"product_id": p[0], "quantity": 1_000_000}]}),
            "absurd",
        ),
        (
            json!({"items": [{"product_id": "1", "quantity": 1}]}),
            "wrong type",
        ),
        (json!({"items": [{"product_id": p[0]}]}), "missing quantity"),
        (
            json!({"items": [{"product_id": p[0], "quantity": 1, "price": 1}]}),
            "a client price",
        ),
        (
            json!({"items": (1..=101).map(|i| json!({"product_id": i, "quantity": 1})).collect::<Vec<_>>()}),
            "101 lines",
        ),
        (json!([]), "not an object"),
    ] {
        let r = env.call("POST", "/order", Some(&token), Some(body)).await;
        assert_eq!(r.status, 400, "{why}: {:?}", r.json);
    }
    let raw = env
        .send(
            "POST",
            "/order",
            env.http
                .post(format!("{}/order", env.base))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body("{\"items\": ["),
        )
        .await;
    assert_eq!(raw.status, 400, "malformed JSON");
    let r = env
        .call("POST", "/order", None, Some(items(&[(p[0], 1)])))
        .await;
    assert_eq!(r.status, 401);
    let r = env.call("GET", "/order/abc", Some(&token), None).await;
    assert_eq!(r.status, 400);
    let r = env.call("GET", "/order/0", Some(&token), None).await;
    assert_eq!(r.status, 400);
    let r = env.call("GET", "/order?page=0", Some(&token), None).await;
    assert_eq!(r.status, 400);
    let r = env
        .call("POST", "/order", Some(&token), Some(items(&[(p[0], 1)])))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(orders_placed(&env).await, 1, "only the good order exists");
    env.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_order_is_not_found_cached_or_not() {
    let env = TestEnv::start().await;
    let (_, alice) = env.customer_account("Alice").await;
    let (_, mallory) = env.customer_account("Mallory").await;
    let p = env.products(&[("Kopi", 25_000, 10)]).await;
    let r = env
        .call("POST", "/order", Some(&alice), Some(items(&[(p[0], 1)])))
        .await;
    let id = r.json["order"]["id"].as_i64().unwrap();
    // Alice's read fills the cache; Mallory still sees nothing.
    assert_eq!(
        env.call("GET", &format!("/order/{id}"), Some(&alice), None)
            .await
            .status,
        200
    );
    for _ in 0..2 {
        let r = env
            .call("GET", &format!("/order/{id}"), Some(&mallory), None)
            .await;
        assert_eq!(r.status, 404);
        assert_eq!(r.error(), format!("Order {id} not found"));
        let r = env
            .call("GET", &format!("/payment/order/{id}"), Some(&mallory), None)
            .await;
        assert_eq!(r.status, 404);
        let r = env
            .call(
                "GET",
                &format!("/order/{}", id + 1000),
                Some(&mallory),
                None,
            )
            .await;
        assert_eq!(r.status, 404, "unknown looks the same");
    }
    let list = env.call("GET", "/order", Some(&mallory), None).await;
    assert_eq!(list.json["total"], 0);
    assert_eq!(list.json["orders"], json!([]));
    let r = env
        .call(
            "POST",
            "/payment/initiate",
            Some(&mallory),
            Some(json!({"order_id": id, "customer_name": "M", "customer_email": "m@example.com"})),
        )
        .await;
    assert_eq!(r.status, 404, "{:?}", r.json);
    env.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_orders_once() {
    // Replays take tokens too (each is a request); room for this test's 24.
    let env = TestEnv::start_with(&[("rate_limit", "50/10")]).await;
    let (_, token) = env.customer_account("Citra").await;
    let p = env
        .products(&[("Kopi", 25_000, 100), ("Teh", 10_000, 100)])
        .await;
    let post = |key: &'static str, body: Value| {
        let req = env
            .http
            .post(format!("{}/order", env.base))
            .bearer_auth(&token)
            .header("idempotency-key", key)
            .header("content-type", "application/json")
            .body(body.to_string());
        env.send("POST", "/order", req)
    };
    let first = post("checkout-1", items(&[(p[0], 2)])).await;
    assert_eq!(first.status, 201);
    let replay = post("checkout-1", items(&[(p[0], 1), (p[0], 1)])).await;
    assert_eq!(replay.status, 201, "the same request, merged the same way");
    assert_eq!(replay.json, first.json);
    // Paid since: the replay still answers what the first response said.
    let id = first.json["order"]["id"].as_i64().unwrap();
    env.db
        .client()
        .await
        .execute(
            "UPDATE orders SET status = 'paid', version = version + 1 WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let later = post("checkout-1", items(&[(p[0], 2)])).await;
    assert_eq!((later.status, &later.json), (201, &first.json));
    let other = post("checkout-1", items(&[(p[1], 2)])).await;
    assert_eq!(other.status, 422);
    assert_eq!(env.stock(p[0]).await, 98);
    assert_eq!(env.stock(p[1]).await, 100);

    // Twenty double clicks at once: one order.
    let clicks = join_all((0..20).map(|_| post("checkout-2", items(&[(p[1], 1)])))).await;
    let ids: HashSet<i64> = clicks
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{:?}", r.json);
            r.json["order"]["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(env.stock(p[1]).await, 99);
    let r = env
        .send(
            "POST",
            "/order",
            env.http
                .post(format!("{}/order", env.base))
                .bearer_auth(&token)
                .header("idempotency-key", "has space")
                .header("content-type", "application/json")
                .body(items(&[(p[1], 1)]).to_string()),
        )
        .await;
    assert_eq!(r.status, 400);
    env.assert_clean();
}

/// 200 buyers at once for 20 units, ten times: never oversold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_buyers_never_oversell_twenty_units() {
    let env = TestEnv::start().await;
    let mut buyers = Vec::new();
    for i in 0..200 {
        buyers.push(env.customer_account(&format!("Buyer{i}")).await.1);
    }
    let mut accepted_total = 0;
    for round in 0..10 {
        let p = env.products(&[("Limited", 50_000, 20)]).await[0];
        let replies = join_all(
            buyers
                .iter()
                .map(|t| env.call("POST", "/order", Some(t), Some(items(&[(p, 1)])))),
        )
        .await;
        let accepted = replies.iter().filter(|r| r.status == 201).count();
        for r in &replies {
            assert!(
                r.status == 201 || r.status == 409,
                "round {round}: {} {:?}",
                r.status,
                r.json
            );
        }
        let client = env.db.client().await;
        let reserved: i64 = client
            .query_one(
                "SELECT coalesce(sum(quantity), 0) FROM order_items WHERE product_id = $1",
                &[&p],
            )
            .await
            .unwrap()
            .get(0);
        let left = env.stock(p).await;
        assert_eq!(accepted, 20, "round {round}: every unit sold, none twice");
        assert_eq!(reserved, 20);
        assert_eq!(left, 0);
        accepted_total += accepted;
    }
    eprintln!("oversell: 10 rounds × 200 buyers × 20 units: {accepted_total} accepted, 0 oversold");
    env.assert_clean();
}

/// The orders service takes the buyer's token (the route passes its bucket)
/// on the connection its write-through uses: the same `RateLimit` fields and
/// 429 as an edge-limited route, and a refused order changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_rate_limited_per_buyer_by_the_service() {
    let env = TestEnv::start_with(&[("rate_limit", "2/1")]).await;
    let (_, buyer) = env.customer_account("Dewi").await;
    let (_, other) = env.customer_account("Eka").await;
    let p = env.products(&[("Kopi", 25_000, 10)]).await[0];
    for remaining in [1, 0] {
        let r = order_one(&env, &buyer, p).await;
        assert_eq!(r.status, 201, "{:?}", r.json);
        assert_eq!(
            r.header("ratelimit-policy"),
            Some(r#""order-write";q=2;w=2"#)
        );
        let state = r.header("ratelimit").unwrap();
        assert!(
            state.starts_with(&format!(r#""order-write";r={remaining};t="#)),
            "{state}"
        );
    }
    let r = order_one(&env, &buyer, p).await;
    assert_eq!(r.status, 429, "{:?}", r.json);
    assert_eq!(r.error(), "Rate limit exceeded. Please try again later.");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.header("ratelimit"), Some(r#""order-write";r=0;t=1"#));
    // Refused before anything was reserved; another buyer has a bucket of
    // their own.
    assert_eq!(env.stock(p).await, 8);
    assert_eq!(order_one(&env, &other, p).await.status, 201);
    assert_eq!(env.stock(p).await, 7);
    assert_eq!(orders_placed(&env).await, 3);
    // The bucket refills on the Redis clock.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(order_one(&env, &buyer, p).await.status, 201);
    env.assert_clean();
}

async fn orders_placed(env: &TestEnv) -> i64 {
    env.db
        .client()
        .await
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap()
        .get(0)
}

async fn order_one(env: &TestEnv, token: &str, product: i64) -> integration::Reply {
    let body = items(&[(product, 1)]);
    env.call("POST", "/order", Some(token), Some(body)).await
}
