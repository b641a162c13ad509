//! The relay's SQL against real Postgres (no broker needed).

use integration::TestDatabase;

#[tokio::test]
async fn next_batch_is_the_oldest_unrelayed_rows_in_order_and_leaves_the_session_alone() {
    let db = TestDatabase::create().await;
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO outbox (event_id, event_type, aggregate_id, payload) \
             SELECT gen_random_uuid(), 'order.created', g % 7, jsonb_build_object('seq', g) \
             FROM generate_series(1, 2000) g; \
             UPDATE outbox SET relayed_at = now() WHERE id % 3 = 0 OR id < 100;",
        )
        .await
        .unwrap();
    let batch = relay::outbox::next_batch(&client, 50).await.unwrap();
    let expected: Vec<i64> = (100..).filter(|id| id % 3 != 0).take(50).collect();
    assert_eq!(batch.iter().map(|r| r.id).collect::<Vec<_>>(), expected);
    let first = &batch[0];
    assert_eq!(first.event_type, "order.created");
    assert_eq!(first.key, (100 % 7).to_string());
    let payload: serde_json::Value = serde_json::from_str(&first.payload).unwrap();
    assert_eq!(payload["seq"], 100);
    // The function's planner settings do not leak into the relay's session.
    let sort: String = client
        .query_one("SHOW enable_sort", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(sort, "on");
}
