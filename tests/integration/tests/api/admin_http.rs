//! The operator's API (issue 26) end to end: HTTP → project host →
//! admin-api → the orders, payments and users services' admin interfaces →
//! real Postgres, Redis and the Midtrans sandbox. Every answer is checked
//! against the OpenAPI document by `TestEnv::call`.

use integration::db::TestDatabase;
use integration::shop::Shop;
use integration::TestEnv;
use platform_core::admin::{OrderFilter, SqlArg};
use platform_core::page::Page;
use serde_json::{json, Value};

/// An administrator as the database has them (the writes check the role
/// there, not only in the token), and their token.
async fn admin_account(env: &TestEnv, name: &str) -> (i64, String) {
    let id: i64 = env
        .db
        .client()
        .await
        .query_one(
            "INSERT INTO users (full_name, email, role, email_verified_at) \
             VALUES ($1, $2, 'admin', now()) RETURNING id",
            &[&name, &format!("{}@shop.example", name.to_lowercase())],
        )
        .await
        .unwrap()
        .get(0);
    (id, TestEnv::token(id, true))
}

async fn sql_count(env: &TestEnv, sql: &str) -> i64 {
    env.db
        .client()
        .await
        .query_one(sql, &[])
        .await
        .unwrap()
        .get(0)
}

const ROUTES: &[(&str, &str)] = &[
    ("GET", "/admin/orders"),
    ("GET", "/admin/orders/1"),
    ("POST", "/admin/orders/1/cancel"),
    ("POST", "/admin/payments/1/refund"),
    ("GET", "/admin/anomalies"),
    ("GET", "/admin/users"),
    ("PUT", "/admin/users/1/role"),
    ("GET", "/admin/audit"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_answer_only_an_administrator() {
    let env = TestEnv::start().await;
    let (customer, customer_token) = env.customer_account("Eko").await;
    let (_, admin) = admin_account(&env, "Boss").await;
    let body = || Some(json!({"role": "admin"}));
    for (method, path) in ROUTES {
        let r = env.call(method, path, None, body()).await;
        assert_eq!(r.status, 401, "{method} {path} anonymous: {}", r.json);
        let r = env.call(method, path, Some(&customer_token), body()).await;
        assert_eq!(r.status, 403, "{method} {path} as a customer: {}", r.json);
    }

    // A token minted before a demotion: reads go on for its 15 minutes, but
    // every write checks the role in the database first.
    let (demoted, stale) = admin_account(&env, "Former").await;
    env.db
        .client()
        .await
        .execute(
            "UPDATE users SET role = 'customer' WHERE id = $1",
            &[&demoted],
        )
        .await
        .unwrap();
    let r = env.call("GET", "/admin/orders", Some(&stale), None).await;
    assert_eq!(r.status, 200);
    for (method, path) in [
        ("POST", "/admin/orders/1/cancel".to_string()),
        ("POST", "/admin/payments/1/refund".to_string()),
        ("PUT", format!("/admin/users/{customer}/role")),
    ] {
        let r = env.call(method, &path, Some(&stale), body()).await;
        assert_eq!(
            r.status, 403,
            "{method} {path} with a stale admin token: {}",
            r.json
        );
    }
    assert_eq!(
        sql_count(&env, "SELECT count(*) FROM admin_audit").await,
        0,
        "nothing was done, nothing audited"
    );

    // Bad parameters are 400s naming them, never a 500.
    for (path, word) in [
        ("/admin/orders?status=shipped", "status"),
        ("/admin/orders?user_id=0", "user_id"),
        ("/admin/orders?from=yesterday", "from"),
        (
            "/admin/orders?from=2026-12-07T00:00:00Z&to=2026-12-06T00:00:00Z",
            "after",
        ),
        ("/admin/orders?page=0", "page"),
        ("/admin/orders?page=200&page_size=100", "10000"),
        ("/admin/orders/abc", "order id"),
        ("/admin/anomalies?older_than_secs=0", "older_than_secs"),
        ("/admin/users?email=", "email"),
        ("/admin/audit?target_id=3", "target_type"),
        ("/admin/audit?target_type=product", "target_type"),
    ] {
        let r = env.call("GET", path, Some(&admin), None).await;
        assert_eq!(r.status, 400, "{path}: {}", r.json);
        assert!(
            r.json["error"].as_str().unwrap().contains(word),
            "{path}: {}",
            r.json
        );
    }
    for bad in [
        json!({"role": "root"}),
        json!({"role": "admin", "x": 1}),
        json!({}),
    ] {
        let path = format!("/admin/users/{customer}/role");
        let r = env
            .call("PUT", &path, Some(&admin), Some(bad.clone()))
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.json);
    }
    let r = env
        .call("POST", "/admin/payments/0/refund", Some(&admin), None)
        .await;
    assert_eq!(r.status, 400);
    let r = env
        .call("GET", "/admin/orders/999999", Some(&admin), None)
        .await;
    assert_eq!(r.status, 404);
    let r = env
        .call("DELETE", "/admin/orders", Some(&admin), None)
        .await;
    assert_eq!(r.status, 405);
    env.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_change_with_an_audit_row_and_never_ones_own() {
    let env = TestEnv::start_with(&[("admin_emails", "founder@shop.example")]).await;
    let (boss, admin) = admin_account(&env, "Chief").await;
    let (shopper, _) = env.customer_account("Under_Score").await;
    env.customer_account("Underdog").await;

    // The prefix is literal: `_` is not LIKE's wildcard.
    let r = env
        .call("GET", "/admin/users?email=UNDER_", Some(&admin), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let emails: Vec<&str> = r.json["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["under_score@example.com"]);
    let r = env
        .call("GET", "/admin/users?page=1&page_size=1", Some(&admin), None)
        .await;
    assert_eq!(
        (
            r.json["users"].as_array().unwrap().len(),
            r.json["has_more"].as_bool()
        ),
        (1, Some(true))
    );

    let path = format!("/admin/users/{shopper}/role");
    let r = env
        .call("PUT", &path, Some(&admin), Some(json!({"role": "admin"})))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["user"]["role"], "admin");
    // The same role again changes nothing and audits nothing.
    let r = env
        .call("PUT", &path, Some(&admin), Some(json!({"role": "admin"})))
        .await;
    assert_eq!(r.status, 200);
    let own = format!("/admin/users/{boss}/role");
    let r = env
        .call("PUT", &own, Some(&admin), Some(json!({"role": "customer"})))
        .await;
    assert_eq!(r.status, 409, "{}", r.json);
    let r = env
        .call(
            "PUT",
            "/admin/users/999999/role",
            Some(&admin),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(r.status, 404);
    // A proven admin_emails address would be promoted again at its next
    // sign-in: demoting it here is refused, and nothing is audited.
    let (founder, _) = admin_account(&env, "Founder").await;
    let r = env
        .call(
            "PUT",
            &format!("/admin/users/{founder}/role"),
            Some(&admin),
            Some(json!({"role": "customer"})),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.json);
    assert!(r.json["error"].as_str().unwrap().contains("admin_emails"));

    let r = env.call("GET", "/admin/audit", Some(&admin), None).await;
    assert_eq!(r.status, 200, "{}", r.json);
    let entries = r.json["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{}", r.json);
    assert_eq!(entries[0]["action"], "user.role");
    assert_eq!(entries[0]["actor_id"], boss);
    assert_eq!(entries[0]["actor_email"], "chief@shop.example");
    assert_eq!(entries[0]["target_id"], shopper);
    assert_eq!(entries[0]["before"], json!({"role": "customer"}));
    assert_eq!(entries[0]["after"], json!({"role": "admin"}));
    let filtered = format!("/admin/audit?actor_id={boss}&target_type=user&target_id={shopper}");
    let r = env.call("GET", &filtered, Some(&admin), None).await;
    assert_eq!(r.json["entries"].as_array().unwrap().len(), 1);

    // The trail is append-only, for the application's own role too.
    let client = env.db.client().await;
    for sql in [
        "UPDATE admin_audit SET action = 'user.role'",
        "DELETE FROM admin_audit",
    ] {
        let err = client.execute(sql, &[]).await.unwrap_err();
        let message = err
            .as_db_error()
            .map(|e| e.message().to_string())
            .unwrap_or_default();
        assert!(message.contains("append-only"), "{sql}: {err:?}");
    }
    env.assert_clean();
}

fn event_types(detail: &Value) -> Vec<String> {
    detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_refunds_a_paid_order_once_through_midtrans() {
    let shop = Shop::start().await;
    let (_, admin) = admin_account(&shop.env, "Ops").await;
    let (buyer, token) = shop.env.customer_account("Fajar").await;
    let p = shop.env.products(&[("Kopi", 25_000, 10)]).await[0];
    let order = shop.order(&token, &[(p, 2)]).await;
    let pending = shop.order(&token, &[(p, 1)]).await;
    let (gateway_id, _, _) = shop.initiate(&token, order).await;
    shop.simulate(&gateway_id, "settlement", None).await;
    shop.wait_for_order(&token, order, "paid").await;

    // The operator finds it by its status and its customer.
    let r = shop
        .env
        .call(
            "GET",
            &format!("/admin/orders?status=paid&user_id={buyer}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let ids: Vec<i64> = r.json["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [order]);
    let r = shop
        .env
        .call("GET", "/admin/orders?status=pending", Some(&admin), None)
        .await;
    assert!(r.json["orders"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["id"] == pending));
    let r = shop
        .env
        .call(
            "GET",
            "/admin/orders?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00%2B07:00",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.json["orders"], json!([]));

    let r = shop
        .env
        .call("GET", &format!("/admin/orders/{order}"), Some(&admin), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["order"]["order_items"][0]["quantity"], 2);
    let payment = &r.json["payment"];
    let payment_id = payment["id"].as_i64().unwrap();
    assert_eq!(payment["status"], "paid");
    assert_eq!(
        payment["attempts"][0]["gateway_order_id"],
        gateway_id.as_str()
    );
    assert_eq!(payment["attempts"][0]["token"], "valid");
    assert!(
        payment["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["verdict"] == "applied"),
        "{payment}"
    );
    assert!(
        !r.raw.windows(9).any(|w| w == b"raw_body\""),
        "never a notification's body"
    );
    assert_eq!(event_types(&r.json), ["order.created", "payment.updated"]);

    // A paid order cannot be cancelled; a pending payment holds no money.
    let r = shop
        .env
        .call(
            "POST",
            &format!("/admin/orders/{order}/cancel"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.json);
    let r = shop
        .env
        .call("POST", "/admin/payments/999999/refund", Some(&admin), None)
        .await;
    assert_eq!(r.status, 404);

    let path = format!("/admin/payments/{payment_id}/refund");
    let r = shop.env.call("POST", &path, Some(&admin), None).await;
    assert_eq!(r.status, 202, "{}", r.json);
    assert_eq!(r.json["refund"], "requested");
    // Midtrans's refund notification moves the payment; the event is written once.
    shop.wait_for_count(
        &format!("SELECT count(*) FROM payments WHERE id = {payment_id} AND status = 'refunded'"),
        1,
    )
    .await;
    let again = shop.env.call("POST", &path, Some(&admin), None).await;
    assert_eq!(again.status, 200, "{}", again.json);
    assert_eq!(
        again.json,
        json!({"payment_id": payment_id, "status": "refunded", "refund": "refunded"})
    );
    assert_eq!(
        shop.midtrans.refunds(&gateway_id),
        vec![(format!("refund-{gateway_id}"), 50_000)]
    );
    assert_eq!(
        shop.count(&format!(
            "SELECT count(*) FROM outbox WHERE aggregate_id = {order} \
             AND event_type = 'payment.updated' AND payload ->> 'status' = 'refunded'"
        ))
        .await,
        1
    );
    // The order stays paid and its stock is not returned (documented).
    assert_eq!(shop.order_status(&token, order).await, "paid");
    assert_eq!(shop.env.stock(p).await, 7);
    let r = shop
        .env
        .call("GET", &format!("/admin/orders/{order}"), Some(&admin), None)
        .await;
    assert_eq!(r.json["payment"]["attempts"][0]["refund"], "refunded");

    let r = shop
        .env
        .call(
            "GET",
            &format!("/admin/audit?target_type=payment&target_id={payment_id}"),
            Some(&admin),
            None,
        )
        .await;
    let entries = r.json["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "one refund asked, one row: {}", r.json);
    assert_eq!(entries[0]["action"], "payment.refund");
    assert_eq!(entries[0]["before"], json!({"status": "paid"}));
    // A pending order's payment has no money to refund.
    let pending_payment = shop
        .count(&format!(
            "SELECT coalesce(max(id), 0) FROM payments WHERE order_id = {pending}"
        ))
        .await;
    if pending_payment > 0 {
        let r = shop
            .env
            .call(
                "POST",
                &format!("/admin/payments/{pending_payment}/refund"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(r.status, 409, "{}", r.json);
    }
    shop.env.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_money_is_an_anomaly_until_the_operator_refunds_it() {
    let shop = Shop::start().await;
    let (ops, admin) = admin_account(&shop.env, "Night").await;
    let (_, token) = shop.env.customer_account("Gita").await;
    let p = shop.env.products(&[("Teh", 8_000, 10)]).await[0];
    let order = shop.order(&token, &[(p, 3)]).await;
    let (gateway_id, _, _) = shop.initiate(&token, order).await;

    // The operator cancels it: the customer's path, closed at Midtrans,
    // audited — also when Midtrans's expire notification ends the payment
    // before the cancel's own close does (the order V18 handles).
    shop.midtrans.notify_actions_before_answering(true);
    let path = format!("/admin/orders/{order}/cancel");
    let r = shop.env.call("POST", &path, Some(&admin), None).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json, json!({"order_id": order, "status": "cancelled"}));
    shop.wait_for_order(&token, order, "cancelled").await;
    assert_eq!(
        shop.midtrans.status_of(&gateway_id).as_deref(),
        Some("expire")
    );
    let again = shop.env.call("POST", &path, Some(&admin), None).await;
    assert_eq!(again.status, 200, "idempotent");
    let audit = format!(
        "SELECT count(*) FROM admin_audit WHERE action = 'order.cancel' AND target_id = {order} \
         AND actor_id = {ops} AND after ->> 'payment_status' = 'cancelled'"
    );
    assert_eq!(shop.count(&audit).await, 1, "one cancel, one row");
    shop.midtrans.notify_actions_before_answering(false);

    // Money arrives anyway while Midtrans's refund API is down: owed.
    shop.midtrans.fail_next_refunds(1);
    let sent = shop.simulate(&gateway_id, "settlement", None).await;
    assert_eq!(sent["webhook_status"], 200, "{sent}");
    let r = shop
        .env
        .call("GET", "/admin/anomalies", Some(&admin), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let owed: Vec<&Value> = r.json["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "refund_owed" && a["order_id"] == order)
        .collect();
    assert_eq!(owed.len(), 1, "{}", r.json);
    let action = &owed[0]["action"];
    assert_eq!(action["method"], "POST");
    assert!(owed[0]["detail"].as_str().unwrap().contains(&gateway_id));

    // The anomaly's own button resolves it.
    let r = shop
        .env
        .call("POST", action["path"].as_str().unwrap(), Some(&admin), None)
        .await;
    assert_eq!(r.status, 202, "{}", r.json);
    assert_eq!(
        r.json["status"], "cancelled",
        "the payment keeps its ending"
    );
    shop.wait_for_count(
        &format!(
            "SELECT count(*) FROM payment_attempts WHERE gateway_order_id = '{gateway_id}' \
             AND transaction_status = 'refund'"
        ),
        1,
    )
    .await;
    let r = shop
        .env
        .call("GET", "/admin/anomalies", Some(&admin), None)
        .await;
    assert!(
        !r.json["anomalies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["order_id"] == order && a["kind"].as_str().unwrap().starts_with("refund")),
        "cleared once refunded: {}",
        r.json
    );
    assert_eq!(shop.midtrans.refunds(&gateway_id).len(), 1);

    // An event nobody acknowledged for an hour is listed, with no button.
    shop.env
        .db
        .client()
        .await
        .execute(
            "INSERT INTO outbox (event_id, event_type, aggregate_id, payload, created_at) \
             VALUES (gen_random_uuid(), 'payment.updated', $1, '{}', \
                     (now() AT TIME ZONE 'UTC') - interval '1 hour')",
            &[&order],
        )
        .await
        .unwrap();
    let r = shop
        .env
        .call(
            "GET",
            "/admin/anomalies?older_than_secs=600",
            Some(&admin),
            None,
        )
        .await;
    let stuck: Vec<&Value> = r.json["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "event_unacknowledged")
        .collect();
    assert_eq!(stuck.len(), 1, "{}", r.json);
    assert_eq!(stuck[0]["action"], Value::Null);
    assert_eq!(stuck[0]["order_id"], order);
    shop.env.assert_clean();
}

/// The node types of a plan, depth first.
fn node_types(plan: &Value, out: &mut Vec<String>) {
    if let Some(t) = plan["Node Type"].as_str() {
        let relation = plan["Relation Name"].as_str().unwrap_or("");
        let index = plan["Index Name"].as_str().unwrap_or("");
        out.push(format!(
            "{t}({relation}{}{index})",
            if index.is_empty() { "" } else { " " }
        ));
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        node_types(child, out);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_order_pages_stay_index_scans_on_100k_orders() {
    let db = TestDatabase::create().await;
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO users (full_name, email) \
               SELECT 'U' || g, 'u' || g || '@example.com' FROM generate_series(1, 1000) g; \
             INSERT INTO orders (user_id, total_price, status, created_at) \
               SELECT 1 + g % 1000, 1000, \
                      (ARRAY['pending','paid','failed','expired','cancelled'])[1 + g % 5], \
                      (now() AT TIME ZONE 'UTC') - make_interval(mins => g) \
               FROM generate_series(1, 100000) g; \
             ANALYZE users; ANALYZE orders;",
        )
        .await
        .unwrap();
    let page = Page::new(5, 20).unwrap();
    let day = "from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z";
    for query in [
        String::new(),
        "status=paid".into(),
        "user_id=7".into(),
        "status=pending&user_id=7".into(),
        day.to_string(),
        format!("status=failed&{day}"),
    ] {
        let (sql, args) = OrderFilter::from_query(&query).unwrap().list_sql(&page);
        let texts: Vec<String> = args
            .iter()
            .map(|a| match a {
                SqlArg::Text(t) => t.clone(),
                SqlArg::Int(n) => n.to_string(),
            })
            .collect();
        // Bound as the component binds them (text or int8), planned per call.
        let params: Vec<Box<dyn tokio_postgres::types::ToSql + Sync>> = args
            .iter()
            .map(|a| -> Box<dyn tokio_postgres::types::ToSql + Sync> {
                match a {
                    SqlArg::Text(t) => Box::new(t.clone()),
                    SqlArg::Int(n) => Box::new(*n),
                }
            })
            .collect();
        let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            params.iter().map(|b| b.as_ref()).collect();
        let row = client
            .query_one(&format!("EXPLAIN (FORMAT JSON) {sql}"), &refs)
            .await
            .unwrap();
        let plan: Value = row.get(0);
        let mut nodes = Vec::new();
        node_types(&plan[0]["Plan"], &mut nodes);
        println!(
            "EXPLAIN /admin/orders?{query} ({texts:?}): {}",
            nodes.join(" > ")
        );
        let index = |n: &String| {
            [
                "Index Scan(orders ",
                "Index Only Scan(orders ",
                "Bitmap Index Scan( orders_",
            ]
            .iter()
            .any(|p| n.starts_with(p))
        };
        assert!(nodes.iter().any(index), "{query}: no index scan: {nodes:?}");
        assert!(
            !nodes.iter().any(|n| n.starts_with("Seq Scan")),
            "{query}: {nodes:?}"
        );
        // A sort is only ever over one customer's orders (their index
        // bounds it); every other page reads the index in its order.
        if !query.contains("user_id") {
            assert!(
                !nodes.iter().any(|n| n.starts_with("Sort")),
                "{query}: {nodes:?}"
            );
        }
    }
}
