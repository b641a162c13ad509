//! The status moves are written twice: as Rust rules in `platform_core`
//! (`PaymentStatus::can_become`, `OrderStatus::can_become`,
//! `PaymentStatus::order_status`, `OrderStatus::releases_stock`, unit-tested)
//! and as the SQL functions of V9 that run them. The Rust rules are the
//! specification: every pair of statuses is run through the SQL on real
//! Postgres and must agree with them.

use integration::TestDatabase;
use platform_core::order::OrderStatus;
use platform_core::payment::PaymentStatus;
use tokio_postgres::Client;

const PAYMENT_STATUSES: [PaymentStatus; 6] = [
    PaymentStatus::Pending,
    PaymentStatus::Paid,
    PaymentStatus::Failed,
    PaymentStatus::Expired,
    PaymentStatus::Cancelled,
    PaymentStatus::Refunded,
];

const ORDER_STATUSES: [OrderStatus; 5] = [
    OrderStatus::Pending,
    OrderStatus::Paid,
    OrderStatus::Failed,
    OrderStatus::Expired,
    OrderStatus::Cancelled,
];

/// A database with one buyer and one product with plenty of stock.
pub async fn setup() -> (TestDatabase, Client, i64, i64) {
    let db = TestDatabase::create().await;
    let client = db.client().await;
    let user: i64 = client
        .query_one(
            "INSERT INTO users (full_name, email) VALUES ('Buyer', 'rules@example.com') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let product: i64 = client
        .query_one(
            "INSERT INTO products (name, price, stock) VALUES ('Kopi', 1000, 100000) RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    (db, client, user, product)
}

/// A new pending order of two units, through `create_order`.
pub async fn order(db: &Client, user: i64, product: i64) -> i64 {
    db.query_one(
        "SELECT order_id FROM create_order($1, ARRAY[$2::bigint], ARRAY[2], NULL, $3)",
        &[&user, &product, &format!("{product}x2")],
    )
    .await
    .unwrap()
    .get(0)
}

/// A `payment.updated` of `order` in the outbox, as `apply_payment_notification`
/// writes it: the consumer takes the status from here, not from the message.
pub async fn payment_updated(db: &Client, order: i64, status: PaymentStatus) -> String {
    db.query_one(
        "INSERT INTO outbox (event_id, event_type, aggregate_id, payload) \
         VALUES (gen_random_uuid(), 'payment.updated', $1, jsonb_build_object('status', $2::text)) \
         RETURNING event_id::text",
        &[&order, &status.as_str()],
    )
    .await
    .unwrap()
    .get(0)
}

pub async fn stock(db: &Client, product: i64) -> i32 {
    db.query_one("SELECT stock FROM products WHERE id = $1", &[&product])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_notification_moves_a_payment_exactly_as_can_become_says() {
    let (_db, client, user, product) = setup().await;
    for from in PAYMENT_STATUSES {
        // A notification carries what Midtrans can say; `cancelled` is only
        // ever the customer's (close_unpaid_order, tested in saga_http).
        for to in PAYMENT_STATUSES
            .into_iter()
            .filter(|s| *s != PaymentStatus::Cancelled)
        {
            let order = order(&client, user, product).await;
            let payment: i64 = client
                .query_one("SELECT ensure_payment($1)", &[&order])
                .await
                .unwrap()
                .get(0);
            client
                .execute(
                    "UPDATE payments SET status = $2 WHERE id = $1",
                    &[&payment, &from.as_str()],
                )
                .await
                .unwrap();
            let gateway_id: String = client
                .query_one(
                    "SELECT gateway_order_id FROM payment_attempts WHERE payment_id = $1",
                    &[&payment],
                )
                .await
                .unwrap()
                .get(0);
            let outcome: String = client
                .query_one(
                    "SELECT outcome FROM apply_payment_notification($1, $2, 'x', NULL, NULL, \
                     NULL, NULL, NULL, '\\x'::bytea)",
                    &[&gateway_id, &to.as_str()],
                )
                .await
                .unwrap()
                .get(0);
            let now: String = client
                .query_one("SELECT status FROM payments WHERE id = $1", &[&payment])
                .await
                .unwrap()
                .get(0);
            let moves = from.can_become(to);
            let expected = if moves {
                "applied"
            } else if from.is_paid_late(to) {
                "refund_required"
            } else {
                "already_applied"
            };
            assert_eq!(outcome, expected, "{from:?} -> {to:?}");
            let expected = if moves { to } else { from };
            assert_eq!(now, expected.as_str(), "{from:?} -> {to:?}");
        }
    }
}

#[tokio::test]
async fn a_payment_event_moves_an_order_and_its_stock_as_the_rules_say() {
    let (_db, client, user, product) = setup().await;
    for from in ORDER_STATUSES {
        for payment in PAYMENT_STATUSES {
            let order = order(&client, user, product).await;
            client
                .execute(
                    "UPDATE orders SET status = $2 WHERE id = $1",
                    &[&order, &from.as_str()],
                )
                .await
                .unwrap();
            let before = stock(&client, product).await;
            let event = payment_updated(&client, order, payment).await;
            let outcome: String = client
                .query_one(
                    "SELECT outcome FROM consume_payment_updated($1::text::uuid, $2, 'x') LIMIT 1",
                    &[&event, &order],
                )
                .await
                .unwrap()
                .get(0);
            let now: String = client
                .query_one("SELECT status FROM orders WHERE id = $1", &[&order])
                .await
                .unwrap()
                .get(0);
            let next = payment.order_status();
            let moves = next.is_some_and(|next| from.can_become(next));
            let releases = moves && next.is_some_and(OrderStatus::releases_stock);
            let expected = match (next, moves, releases) {
                (None, _, _) => "ignored",
                (Some(_), false, _) => "unchanged",
                (Some(_), true, false) => "updated",
                (Some(_), true, true) => "released",
            };
            let case = format!("order {from:?}, payment {payment:?}");
            assert_eq!(outcome, expected, "{case}");
            let status = if moves { next.unwrap() } else { from };
            assert_eq!(now, status.as_str(), "{case}");
            let returned = if releases { 2 } else { 0 };
            assert_eq!(stock(&client, product).await, before + returned, "{case}");
        }
    }
}
