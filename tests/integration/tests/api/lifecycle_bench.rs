//! `cargo xtask bench --suite sweep`: one sweep over many pending orders on
//! the project host (ignored in `cargo xtask test`: it measures, it does not
//! assert a speed). Half the orders are past their unpaid TTL and never
//! started (the sweep expires them: a payment made and ended, the event
//! consumed, the stock returned), half are young (the sweep reschedules
//! them). Ticks are published as the relay's leader would, faster, so
//! overlapping sweeps share the work through `claim_due_orders`.

use std::time::{Duration, Instant};

use integration::shop::Shop;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: cargo xtask bench --suite sweep"]
async fn one_sweep_over_many_pending_orders() {
    let orders: i64 = std::env::var("SWEEP_BENCH_ORDERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let shop = Shop::start_with(&[("order_unpaid_ttl_secs", "1800")]).await;
    let (user, _) = shop.env.customer_account("Bench").await;
    let db = shop.env.db.client().await;
    db.batch_execute(&format!(
        "INSERT INTO products (name, price, stock) \
         SELECT 'p' || g, 1000, 0 FROM generate_series(1, 1000) g; \
         INSERT INTO orders (user_id, total_price, created_at, next_check_at) \
         SELECT {user}, 1000, \
                (now() AT TIME ZONE 'UTC') - CASE WHEN g % 2 = 0 THEN interval '1 hour' \
                                                  ELSE interval '0' END, \
                now() AT TIME ZONE 'UTC' \
         FROM generate_series(1, {orders}) g; \
         INSERT INTO order_items (order_id, product_id, quantity, price) \
         SELECT o.id, (SELECT min(id) FROM products) + o.id % 1000, 1, 1000 \
         FROM orders o WHERE o.user_id = {user}; \
         ANALYZE orders; ANALYZE order_items;"
    ))
    .await
    .unwrap();
    let due = "SELECT count(*) FROM orders WHERE status = 'pending' \
               AND next_check_at <= now() AT TIME ZONE 'UTC'";
    let started = Instant::now();
    loop {
        let left: i64 = db.query_one(due, &[]).await.unwrap().get(0);
        if left == 0 {
            break;
        }
        shop.tick().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(started.elapsed() < Duration::from_secs(3600), "{left} left");
    }
    let swept = started.elapsed();
    let expired_target = orders / 2;
    shop.wait_for_count(
        &format!(
            "SELECT count(*) FROM orders WHERE status = 'expired' \
             AND stock_released_at IS NOT NULL AND user_id = {user}"
        ),
        expired_target,
    )
    .await;
    let settled = started.elapsed();
    let stock: i64 = db
        .query_one("SELECT sum(stock)::bigint FROM products", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        stock, expired_target,
        "each expired order's unit came back once"
    );
    println!(
        "sweep over {orders} pending orders ({expired_target} expired, {} rescheduled): \
         swept in {:.1} s ({:.0} orders/s); every expiry's event consumed and stock back in {:.1} s",
        orders - expired_target,
        swept.as_secs_f64(),
        orders as f64 / swept.as_secs_f64(),
        settled.as_secs_f64()
    );
}
