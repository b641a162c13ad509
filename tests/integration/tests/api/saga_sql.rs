//! The saga's consumers (V11) against real Postgres, as an attacker and a
//! clock would test them: a forged message changes nothing, and the
//! compensation cannot deadlock with an order.

use std::time::Duration;

use platform_core::payment::PaymentStatus;
use tokio_postgres::Client;

use crate::status_rules_sql::{order, payment_updated, setup, stock};

async fn order_status(db: &Client, order: i64) -> String {
    db.query_one("SELECT status FROM orders WHERE id = $1", &[&order])
        .await
        .unwrap()
        .get(0)
}

async fn count(db: &Client, sql: &str) -> i64 {
    db.query_one(sql, &[]).await.unwrap().get(0)
}

/// Anyone who can PUBLISH on Redis can send a worker a message naming a real
/// order with a fresh event id; the consumers act only on events the outbox
/// holds, with the outbox's facts.
#[tokio::test]
async fn a_forged_message_changes_nothing() {
    let (_db, client, user, product) = setup().await;
    let order = order(&client, user, product).await;
    let before = stock(&client, product).await;
    let forged_paid: String = client
        .query_one(
            "SELECT outcome FROM consume_payment_updated(gen_random_uuid(), $1, 'paid') LIMIT 1",
            &[&order],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(forged_paid, "unknown_event");
    let forged_created: String = client
        .query_one(
            "SELECT consume_order_created(gen_random_uuid(), $1)",
            &[&order],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(forged_created, "unknown_event");
    // A real event id, but another order's, or another type's, is refused too.
    let other = crate::status_rules_sql::order(&client, user, product).await;
    let real = payment_updated(&client, other, PaymentStatus::Paid).await;
    let misdirected: String = client
        .query_one(
            "SELECT outcome FROM consume_payment_updated($1::text::uuid, $2, 'paid') LIMIT 1",
            &[&real, &order],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(misdirected, "unknown_event");
    let wrong_type: String = client
        .query_one(
            "SELECT consume_order_created($1::text::uuid, $2)",
            &[&real, &other],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(wrong_type, "unknown_event");
    assert_eq!(order_status(&client, order).await, "pending");
    assert_eq!(
        stock(&client, product).await,
        before - 2,
        "only the second order's"
    );
    assert_eq!(count(&client, "SELECT count(*) FROM payments").await, 0);
    assert_eq!(
        count(&client, "SELECT count(*) FROM processed_events").await,
        0,
        "a forged id is not even remembered"
    );
    // The message's status is not read: the outbox says failed, the
    // message says paid, the order fails and its stock comes back.
    let failed = payment_updated(&client, order, PaymentStatus::Failed).await;
    let outcome: String = client
        .query_one(
            "SELECT outcome FROM consume_payment_updated($1::text::uuid, $2, 'paid') LIMIT 1",
            &[&failed, &order],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(outcome, "released");
    assert_eq!(order_status(&client, order).await, "failed");
}

/// `create_order` locks products in id order. The compensation used to
/// update them through a join, in the join's order: an order holding the
/// lower id and waiting for the higher one, against a release holding the
/// higher and waiting for the lower, was `deadlock detected`. The release
/// now locks them in id order first.
#[tokio::test]
async fn the_compensation_and_an_order_cannot_deadlock() {
    let (db, client, user, low) = setup().await;
    let high: i64 = client
        .query_one(
            "INSERT INTO products (name, price, stock) VALUES ('Teh', 500, 100000) RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(high > low);
    // An order whose lines put the higher id first, with the lower id's row
    // moved behind it in the heap: join order and heap order both reach the
    // higher id first.
    let order: i64 = client
        .query(
            "SELECT order_id FROM create_order($1, ARRAY[$2::bigint, $3::bigint], ARRAY[1, 1], \
             NULL, 'x')",
            &[&user, &high, &low],
        )
        .await
        .unwrap()[0]
        .get(0);
    client
        .execute(
            "UPDATE products SET updated_at = updated_at WHERE id = $1",
            &[&low],
        )
        .await
        .unwrap();
    let event = payment_updated(&client, order, PaymentStatus::Expired).await;
    // An order's statement holds the lower id …
    let mut orderer = db.client().await;
    let tx = orderer.transaction().await.unwrap();
    tx.execute(
        "UPDATE products SET stock = stock - 1 WHERE id = $1",
        &[&low],
    )
    .await
    .unwrap();
    // … while the release runs (and, before V11, took the higher id first) …
    let releaser = db.client().await;
    let release = tokio::spawn(async move {
        releaser
            .query(
                "SELECT outcome FROM consume_payment_updated($1::text::uuid, $2, 'expired')",
                &[&event, &order],
            )
            .await
            .map(|_| ())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // … and then wants the higher id.
    let second = tx
        .execute(
            "UPDATE products SET stock = stock - 1 WHERE id = $1",
            &[&high],
        )
        .await;
    assert!(second.is_ok(), "the order deadlocked: {second:?}");
    tx.commit().await.unwrap();
    let released = release.await.unwrap();
    assert!(released.is_ok(), "the release deadlocked: {released:?}");
    assert_eq!(order_status(&client, order).await, "expired");
    // Each: 1 ordered, 1 taken by the racing statement, 1 released.
    assert_eq!(stock(&client, low).await, 100000 - 1);
    assert_eq!(stock(&client, high).await, 100000 - 1);
}
