//! `create_order` (migration V8), the one statement an order is made of,
//! against real Postgres: prices from the catalog, stock that cannot go
//! below zero under concurrency, all-or-nothing, idempotency keys.

use integration::TestDatabase;
use tokio_postgres::Client;

/// One row of the function's answer.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    outcome: String,
    order_id: Option<i64>,
    product_id: Option<i64>,
    stock: Option<i32>,
    event: Option<String>,
}

async fn create_order(db: &Client, user: i64, lines: &[(i64, i32)], key: Option<&str>) -> Vec<Row> {
    let ids: Vec<i64> = lines.iter().map(|l| l.0).collect();
    let qty: Vec<i32> = lines.iter().map(|l| l.1).collect();
    let fingerprint = lines
        .iter()
        .map(|(id, q)| format!("{id}x{q}"))
        .collect::<Vec<_>>()
        .join(",");
    db.query(
        "SELECT outcome, order_id, product_id, stock, event FROM create_order($1, $2, $3, $4, $5)",
        &[&user, &ids, &qty, &key, &fingerprint],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| Row {
        outcome: r.get(0),
        order_id: r.get(1),
        product_id: r.get(2),
        stock: r.get(3),
        event: r.get(4),
    })
    .collect()
}

async fn setup() -> (TestDatabase, Client, i64, Vec<i64>) {
    let db = TestDatabase::create().await;
    let client = db.client().await;
    let user: i64 = client
        .query_one(
            "INSERT INTO users (full_name, email) VALUES ('Buyer', 'buyer@example.com') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let mut products = Vec::new();
    for (name, price, stock) in [("Kopi", 25_000i64, 10i32), ("Teh", 10_000, 3)] {
        let id: i64 = client
            .query_one(
                "INSERT INTO products (name, price, stock) VALUES ($1, $2, $3) RETURNING id",
                &[&name, &price, &stock],
            )
            .await
            .unwrap()
            .get(0);
        products.push(id);
    }
    (db, client, user, products)
}

async fn count(db: &Client, sql: &str) -> i64 {
    db.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn an_order_reserves_stock_at_catalog_prices_with_its_event() {
    let (_db, client, user, p) = setup().await;
    let rows = create_order(&client, user, &[(p[0], 2), (p[1], 3)], None).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r.outcome == "created"));
    let order = rows[0].order_id.unwrap();
    let stock: Vec<(i64, Option<i32>)> = rows
        .iter()
        .map(|r| (r.product_id.unwrap(), r.stock))
        .collect();
    assert!(stock.contains(&(p[0], Some(8))) && stock.contains(&(p[1], Some(0))));
    let total: i64 = client
        .query_one("SELECT total_price FROM orders WHERE id = $1", &[&order])
        .await
        .unwrap()
        .get(0);
    assert_eq!(total, 2 * 25_000 + 3 * 10_000);
    let event: serde_json::Value = serde_json::from_str(rows[0].event.as_deref().unwrap()).unwrap();
    assert_eq!(event["order_id"], order);
    assert_eq!(event["user_id"], user);
    assert_eq!(event["total_price"], total);
    assert_eq!(event["items"].as_array().unwrap().len(), 2);
    let outbox: i64 = client
        .query_one(
            "SELECT count(*) FROM outbox WHERE event_type = 'order.created' AND aggregate_id = $1 \
             AND event_id::text = $2",
            &[&order, &event["event_id"].as_str().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(outbox, 1);
}

#[tokio::test]
async fn a_failed_order_changes_nothing() {
    let (_db, client, user, p) = setup().await;
    let rows = create_order(&client, user, &[(p[0], 1), (p[1], 4)], None).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].outcome.as_str(), rows[0].product_id),
        ("out_of_stock", Some(p[1]))
    );
    let rows = create_order(&client, user, &[(p[0], 1), (999_999, 1)], None).await;
    assert_eq!(
        (rows[0].outcome.as_str(), rows[0].product_id),
        ("unknown_product", Some(999_999))
    );
    client
        .execute(
            "UPDATE products SET deleted_at = now() WHERE id = $1",
            &[&p[1]],
        )
        .await
        .unwrap();
    let rows = create_order(&client, user, &[(p[1], 1)], None).await;
    assert_eq!(
        rows[0].outcome, "unknown_product",
        "a deleted product cannot be ordered"
    );
    assert_eq!(count(&client, "SELECT count(*) FROM orders").await, 0);
    assert_eq!(count(&client, "SELECT count(*) FROM outbox").await, 0);
    assert_eq!(count(&client, "SELECT sum(stock) FROM products").await, 13);
}

#[tokio::test]
async fn concurrent_orders_never_oversell() {
    let (db, client, user, p) = setup().await;
    // 25 buyers want one Kopi each; there are 10.
    let mut tasks = Vec::new();
    for _ in 0..25 {
        let c = db.client().await;
        let product = p[0];
        tasks.push(tokio::spawn(async move {
            create_order(&c, user, &[(product, 1)], None).await[0]
                .outcome
                .clone()
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap().as_str() {
            "created" => created += 1,
            "out_of_stock" => {}
            other => panic!("unexpected outcome {other}"),
        }
    }
    assert_eq!(created, 10);
    let stock: i32 = client
        .query_one("SELECT stock FROM products WHERE id = $1", &[&p[0]])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stock, 0);
    assert_eq!(count(&client, "SELECT count(*) FROM outbox").await, 10);
}

#[tokio::test]
async fn an_idempotency_key_returns_the_first_order() {
    let (db, client, user, p) = setup().await;
    let first = create_order(&client, user, &[(p[0], 2)], Some("checkout-1")).await;
    assert_eq!(first[0].outcome, "created");
    let order = first[0].order_id;
    // The same key and request: the same order, nothing reserved again.
    let again = create_order(&client, user, &[(p[0], 2)], Some("checkout-1")).await;
    assert_eq!(
        (again[0].outcome.as_str(), again[0].order_id),
        ("replayed", order)
    );
    // The same key, another request: refused.
    let other = create_order(&client, user, &[(p[0], 3)], Some("checkout-1")).await;
    assert_eq!(other[0].outcome, "key_mismatch");
    // A double click: two at once with one key make one order.
    let (a, b) = {
        let (c1, c2) = (db.client().await, db.client().await);
        let (x, y) = (p[1], p[1]);
        tokio::join!(
            async move { create_order(&c1, user, &[(x, 1)], Some("double")).await },
            async move { create_order(&c2, user, &[(y, 1)], Some("double")).await }
        )
    };
    let mut outcomes = [a[0].outcome.clone(), b[0].outcome.clone()];
    outcomes.sort();
    assert_eq!(outcomes, ["created".to_string(), "replayed".to_string()]);
    assert_eq!(a[0].order_id, b[0].order_id);
    assert_eq!(count(&client, "SELECT count(*) FROM orders").await, 2);
    let stock: Vec<i32> = client
        .query("SELECT stock FROM products ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(stock, vec![8, 2]);
    // Keys are per user, and expire after 24 hours.
    client
        .execute(
            "UPDATE idempotency_keys SET created_at = created_at - interval '25 hours'",
            &[],
        )
        .await
        .unwrap();
    let later = create_order(&client, user, &[(p[0], 3)], Some("checkout-1")).await;
    assert_eq!(later[0].outcome, "created");
}
