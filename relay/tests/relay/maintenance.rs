//! The maintenance tick and the retention policy (`prune_retained`,
//! migration V12) against real Postgres and Redis. The relay runs with
//! Kafka off here, so no broker is needed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use integration::{RedisServer, TestDatabase};
use tokio_postgres::Client;

/// The database's UTC clock, as the schema's timestamps are written.
const NOW: &str = "(now() AT TIME ZONE 'UTC')";

/// Labelled rows in every table with a policy, each past it or not.
fn seed_sql() -> String {
    format!(
        "
        INSERT INTO outbox (event_id, event_type, aggregate_id, payload, created_at,
                            consumed_at, relayed_at, relay_error)
        SELECT gen_random_uuid(), 'order.created', 1, jsonb_build_object('tag', tag),
               {NOW} - interval '30 days', {NOW} - consumed, {NOW} - relayed, err
        FROM (VALUES
            ('consumed_8d_relayed',    interval '8 days', interval '8 days', NULL),
            ('consumed_8d_unrelayed',  interval '8 days', NULL,              NULL),
            ('consumed_6d_relayed',    interval '6 days', interval '6 days', NULL),
            ('unconsumed_relayed',     NULL,              interval '29 days', NULL),
            ('skipped_consumed_8d',    interval '8 days', interval '29 days', 'unknown event type'),
            ('skipped_unconsumed',     NULL,              interval '29 days', 'unknown event type')
        ) AS v (tag, consumed, relayed, err);

        INSERT INTO processed_events (consumer, event_id, processed_at) VALUES
            ('processed_8d', gen_random_uuid(), {NOW} - interval '8 days'),
            ('processed_6d', gen_random_uuid(), {NOW} - interval '6 days');

        INSERT INTO payment_notifications (gateway_order_id, raw_body, verdict, received_at)
        SELECT tag, '\\x7b7d', verdict, {NOW} - age
        FROM (VALUES
            ('bad_signature_8d',     'bad_signature',   interval '8 days'),
            ('malformed_8d',         'malformed',       interval '8 days'),
            ('unknown_order_8d',     'unknown_order',   interval '8 days'),
            ('amount_mismatch_8d',   'amount_mismatch', interval '8 days'),
            ('unconfirmed_8d',       'unconfirmed',     interval '8 days'),
            ('bad_signature_6d',     'bad_signature',   interval '6 days'),
            ('applied_8d',           'applied',         interval '8 days'),
            ('already_applied_399d', 'already_applied', interval '399 days'),
            ('applied_401d',         'applied',         interval '401 days'),
            ('already_applied_401d', 'already_applied', interval '401 days'),
            ('malformed_401d',       'malformed',       interval '401 days')
        ) AS v (tag, verdict, age);

        -- One user per refresh-token family, named after it.
        INSERT INTO users (full_name, email)
        SELECT tag, tag || '@example.com'
        FROM unnest(ARRAY['live', 'revoked_2d', 'revoked_12h', 'ended_2d', 'ended_12h']) AS t (tag);
        INSERT INTO orders (user_id, total_price) SELECT id, 1 FROM users WHERE full_name = 'live';
        INSERT INTO idempotency_keys (user_id, key, fingerprint, order_id, created_at)
        SELECT o.user_id, tag, '1x1', o.id, {NOW} - age
        FROM orders o, (VALUES ('key_25h', interval '25 hours'),
                               ('key_23h', interval '23 hours')) AS v (tag, age);

        INSERT INTO refresh_token_families (id, user_id, expires_at, revoked_at)
        SELECT gen_random_uuid(), u.id, {NOW} + ends, {NOW} - revoked
        FROM users u JOIN (VALUES
            ('live',        interval '30 days',   NULL),
            ('revoked_2d',  interval '30 days',   interval '2 days'),
            ('revoked_12h', interval '30 days',   interval '12 hours'),
            ('ended_2d',    interval '-2 days',   NULL),
            ('ended_12h',   interval '-12 hours', NULL)
        ) AS v (tag, ends, revoked) ON u.full_name = v.tag;
        INSERT INTO refresh_tokens (token_hash, family_id, expires_at)
        SELECT tag, f.id, {NOW} + expires
        FROM refresh_token_families f JOIN users u ON u.id = f.user_id JOIN (VALUES
            ('live_expired_2d',   'live',        interval '-2 days'),
            ('live_expired_12h',  'live',        interval '-12 hours'),
            ('live_valid',        'live',        interval '1 day'),
            ('revoked_2d_valid',  'revoked_2d',  interval '10 days'),
            ('revoked_12h_valid', 'revoked_12h', interval '10 days'),
            ('ended_2d',          'ended_2d',    interval '-2 days'),
            ('ended_12h',         'ended_12h',   interval '-12 hours')
        ) AS v (tag, family, expires) ON u.full_name = v.family;
        "
    )
}

/// The labels left in each table.
async fn labels(db: &Client) -> BTreeMap<&'static str, Vec<String>> {
    let mut out = BTreeMap::new();
    for (table, sql) in [
        ("outbox", "SELECT payload ->> 'tag' FROM outbox"),
        ("processed_events", "SELECT consumer FROM processed_events"),
        (
            "payment_notifications",
            "SELECT gateway_order_id FROM payment_notifications",
        ),
        ("idempotency_keys", "SELECT key FROM idempotency_keys"),
        ("refresh_tokens", "SELECT token_hash FROM refresh_tokens"),
        (
            "refresh_token_families",
            "SELECT u.full_name FROM refresh_token_families f JOIN users u ON u.id = f.user_id",
        ),
    ] {
        let mut tags: Vec<String> = db
            .query(sql, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        tags.sort();
        out.insert(table, tags);
    }
    out
}

fn sorted(tags: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    v.sort();
    v
}

async fn prune(db: &Client, limit: i32, needs_relay: bool) -> BTreeMap<String, i64> {
    relay::maintenance::prune(db, limit, needs_relay)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

fn counts(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

#[tokio::test]
async fn prune_retained_deletes_exactly_what_the_policy_no_longer_keeps() {
    let db = TestDatabase::create().await;
    let client = db.client().await;
    client.batch_execute(&seed_sql()).await.unwrap();

    // Kafka on: an acknowledged row is kept until it is relayed too.
    let pruned = prune(&client, 1000, true).await;
    assert_eq!(
        pruned,
        counts(&[
            ("outbox", 2),
            ("processed_events", 1),
            ("payment_notifications", 8),
            ("idempotency_keys", 1),
            ("refresh_tokens", 3),
            ("refresh_token_families", 2),
        ])
    );
    let left = labels(&client).await;
    assert_eq!(
        left["outbox"],
        sorted(&[
            "consumed_8d_unrelayed",
            "consumed_6d_relayed",
            "unconsumed_relayed",
            "skipped_unconsumed",
        ])
    );
    assert_eq!(left["processed_events"], sorted(&["processed_6d"]));
    assert_eq!(
        left["payment_notifications"],
        sorted(&["bad_signature_6d", "applied_8d", "already_applied_399d"])
    );
    assert_eq!(left["idempotency_keys"], sorted(&["key_23h"]));
    assert_eq!(
        left["refresh_tokens"],
        sorted(&[
            "live_expired_12h",
            "live_valid",
            "revoked_12h_valid",
            "ended_12h"
        ])
    );
    assert_eq!(
        left["refresh_token_families"],
        sorted(&["live", "revoked_12h", "ended_12h"])
    );

    // Nothing more with Kafka on; with Kafka off nothing will ever relay the
    // unrelayed acknowledged row, so it goes too.
    assert!(prune(&client, 1000, true).await.values().all(|n| *n == 0));
    let pruned = prune(&client, 1000, false).await;
    assert_eq!(pruned["outbox"], 1);
    assert_eq!(pruned.values().sum::<i64>(), 1);
    assert_eq!(
        labels(&client).await["outbox"],
        sorted(&[
            "consumed_6d_relayed",
            "unconsumed_relayed",
            "skipped_unconsumed"
        ])
    );
}

#[tokio::test]
async fn prune_retained_takes_at_most_its_limit_per_table_oldest_first() {
    let db = TestDatabase::create().await;
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "INSERT INTO processed_events (consumer, event_id, processed_at) \
             SELECT 'g' || g, gen_random_uuid(), {NOW} - interval '8 days' - g * interval '1 minute' \
             FROM generate_series(1, 25) g; \
             INSERT INTO payment_notifications (gateway_order_id, raw_body, verdict, received_at) \
             SELECT 'n' || g, '\\x7b7d', CASE WHEN g % 2 = 0 THEN 'applied' ELSE 'malformed' END, \
                    {NOW} - interval '401 days' \
             FROM generate_series(1, 25) g;"
        ))
        .await
        .unwrap();
    let pruned = prune(&client, 10, true).await;
    assert_eq!(pruned["processed_events"], 10);
    // Its two kinds of notification share the table's limit.
    assert_eq!(pruned["payment_notifications"], 10);
    let left = labels(&client).await;
    // The oldest (g16 … g25) went first.
    let expected: Vec<String> = (1..=15).map(|g| format!("g{g}")).collect();
    let mut expected = expected;
    expected.sort();
    assert_eq!(left["processed_events"], expected);
    assert_eq!(prune(&client, 10, true).await["processed_events"], 10);
    let last = prune(&client, 10, true).await;
    assert_eq!(
        (last["processed_events"], last["payment_notifications"]),
        (5, 5)
    );
    assert!(prune(&client, 10, true).await.values().all(|n| *n == 0));
}

/// `n` rows past the policy in every table; returns the counts seeded.
async fn seed_bulk(
    client: &Client,
    families: i32,
    tokens_per_family: i32,
) -> BTreeMap<String, i64> {
    let n = families * tokens_per_family;
    client
        .batch_execute(&format!(
            "INSERT INTO outbox (event_id, event_type, aggregate_id, payload, consumed_at, relayed_at) \
             SELECT gen_random_uuid(), 'order.created', g, '{{}}', \
                    {NOW} - interval '8 days' - g * interval '1 second', {NOW} \
             FROM generate_series(1, {n}) g; \
             INSERT INTO processed_events (consumer, event_id, processed_at) \
             SELECT 'payments', gen_random_uuid(), {NOW} - interval '8 days' - g * interval '1 second' \
             FROM generate_series(1, {n}) g; \
             INSERT INTO payment_notifications (raw_body, verdict, received_at) \
             SELECT '\\x7b7d', 'bad_signature', {NOW} - interval '8 days' - g * interval '1 second' \
             FROM generate_series(1, {n}) g; \
             INSERT INTO users (full_name, email) VALUES ('bulk', 'bulk@example.com'); \
             INSERT INTO orders (user_id, total_price) SELECT u.id, 1 FROM users u, generate_series(1, {n}); \
             INSERT INTO idempotency_keys (user_id, key, fingerprint, order_id, created_at) \
             SELECT o.user_id, 'k' || o.id, '1x1', o.id, {NOW} - interval '25 hours' - o.id * interval '1 second' \
             FROM orders o; \
             INSERT INTO refresh_token_families (id, user_id, expires_at, revoked_at) \
             SELECT gen_random_uuid(), u.id, {NOW} + interval '30 days', \
                    {NOW} - interval '2 days' - g * interval '1 second' \
             FROM users u, generate_series(1, {families}) g; \
             INSERT INTO refresh_tokens (token_hash, family_id, expires_at) \
             SELECT f.id || '-' || g, f.id, {NOW} + interval '10 days' \
             FROM refresh_token_families f, generate_series(1, {tokens_per_family}) g;"
        ))
        .await
        .unwrap();
    let n = i64::from(n);
    counts(&[
        ("outbox", n),
        ("processed_events", n),
        ("payment_notifications", n),
        ("idempotency_keys", n),
        ("refresh_tokens", n),
        ("refresh_token_families", i64::from(families)),
    ])
}

fn add(total: &mut BTreeMap<String, i64>, pruned: &BTreeMap<String, i64>) {
    for (table, n) in pruned {
        *total.entry(table.clone()).or_default() += n;
    }
}

async fn rows_left(client: &Client) -> i64 {
    client
        .query_one(
            "SELECT (SELECT count(*) FROM outbox) + (SELECT count(*) FROM processed_events) \
             + (SELECT count(*) FROM payment_notifications) + (SELECT count(*) FROM idempotency_keys) \
             + (SELECT count(*) FROM refresh_tokens) + (SELECT count(*) FROM refresh_token_families)",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// A call that would wait for another's row locks fails instead of hanging.
async fn impatient(db: &TestDatabase) -> Client {
    let client = db.client().await;
    client
        .batch_execute("SET lock_timeout = '2s'")
        .await
        .unwrap();
    client
}

#[tokio::test]
async fn a_prune_skips_the_rows_an_unfinished_one_holds_and_each_row_goes_once() {
    let db = TestDatabase::create().await;
    let first = impatient(&db).await;
    let second = impatient(&db).await;
    let seeded = seed_bulk(&first, 30, 10).await;

    // The first call's transaction stays open, holding the rows it deleted.
    first.batch_execute("BEGIN").await.unwrap();
    let held = prune(&first, 100, true).await;
    assert_eq!(held["outbox"], 100);
    // The second neither waits for them (lock_timeout would fail it) nor
    // takes them again: it takes all the others.
    let started = Instant::now();
    let other = prune(&second, 1000, true).await;
    assert!(started.elapsed() < Duration::from_secs(2), "it waited");
    for table in [
        "outbox",
        "processed_events",
        "payment_notifications",
        "idempotency_keys",
        "refresh_tokens",
    ] {
        assert_eq!(held[table], 100, "{table}");
        assert_eq!(other[table], seeded[table] - 100, "{table}");
    }
    first.batch_execute("COMMIT").await.unwrap();

    // The families whose tokens the two split go at the next call.
    let mut total = BTreeMap::new();
    add(&mut total, &held);
    add(&mut total, &other);
    add(&mut total, &prune(&second, 1000, true).await);
    assert_eq!(total, seeded);
    assert_eq!(rows_left(&first).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_prunes_share_the_work_and_never_block_each_other() {
    let db = TestDatabase::create().await;
    let a = impatient(&db).await;
    let b = impatient(&db).await;
    let seeded = seed_bulk(&a, 100, 20).await;

    async fn drain(client: &Client) -> BTreeMap<String, i64> {
        let mut total = BTreeMap::new();
        loop {
            let pruned = prune(client, 150, true).await;
            add(&mut total, &pruned);
            if pruned.values().all(|n| *n == 0) {
                return total;
            }
        }
    }
    let (by_a, by_b) = tokio::join!(drain(&a), drain(&b));
    let mut total = by_a.clone();
    add(&mut total, &by_b);
    // A family whose last tokens went in the other's call may be left for
    // one more.
    add(&mut total, &prune(&a, 1000, true).await);
    assert_eq!(total, seeded, "by a: {by_a:?}, by b: {by_b:?}");
    assert_eq!(rows_left(&a).await, 0);
}

/// What the relay exports about orders ending (V14): refunds owed and
/// refused, late money, and pending orders the sweep left overdue — each
/// counted from the rows that say so, nothing else.
#[tokio::test]
async fn lifecycle_health_counts_what_an_operator_alerts_on() {
    let db = TestDatabase::create().await;
    let client = db.client().await;
    let empty = relay::maintenance::health(&client).await.unwrap();
    assert_eq!(empty, relay::maintenance::Health::default());
    client
        .batch_execute(&format!(
            "
            INSERT INTO users (full_name, email) VALUES ('Ops', 'ops@example.com');
            INSERT INTO orders (user_id, total_price, status, next_check_at)
            SELECT u.id, 1000, status, {NOW} - age
            FROM users u, (VALUES
                ('pending', interval '20 minutes'),
                ('pending', interval '10 minutes'),
                ('pending', interval '1 minute'),
                ('expired', interval '2 hours')
            ) AS v (status, age);
            INSERT INTO payments (order_id, amount, gateway_order_id, expired_at)
            SELECT id, 1000, 'g-' || id, {NOW} FROM orders;
            INSERT INTO payment_attempts (payment_id, attempt, gateway_order_id, expires_at,
                refund_required_at, refund_requested_at, refund_refused_at)
            SELECT p.id, 1, p.gateway_order_id, {NOW}, req, asked, refused
            FROM payments p JOIN (VALUES
                (1, NULL::timestamp, NULL::timestamp, NULL::timestamp),
                (2, {NOW}, NULL, NULL),
                (3, {NOW}, {NOW}, NULL),
                (4, {NOW}, NULL, {NOW})
            ) AS v (n, req, asked, refused) ON v.n = p.order_id;
            "
        ))
        .await
        .unwrap();
    let h = relay::maintenance::health(&client).await.unwrap();
    assert_eq!(
        (
            h.refunds_owed,
            h.refunds_refused,
            h.paid_late,
            h.orders_overdue
        ),
        (1, 1, 3, 2),
        "{h:?}"
    );
    assert!((1190.0..1300.0).contains(&h.oldest_overdue_secs), "{h:?}");
}

#[tokio::test]
async fn the_idempotency_replay_reads_the_order_created_index() {
    let db = TestDatabase::create().await;
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO outbox (event_id, event_type, aggregate_id, payload) \
             SELECT gen_random_uuid(), \
                    CASE WHEN g % 2 = 0 THEN 'order.created' ELSE 'payment.updated' END, \
                    g / 2, '{}' \
             FROM generate_series(1, 20000) g; \
             ANALYZE outbox; \
             PREPARE replay (BIGINT) AS \
               SELECT o.payload::TEXT FROM outbox o \
               WHERE o.aggregate_id = $1 AND o.event_type = 'order.created' LIMIT 1; \
             SET plan_cache_mode = force_generic_plan;",
        )
        .await
        .unwrap();
    // The generic plan is what create_order's PL/pgSQL runs; with 20 000
    // rows and real statistics the planner picks the index on its own
    // (no enable_seqscan = off needed).
    let plan: Vec<String> = client
        .simple_query("EXPLAIN EXECUTE replay(4242)")
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("outbox_order_created_idx"), "{plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");
}

/// The relay binary with Kafka off and a 1-second maintenance tick.
fn start_relay(db: &TestDatabase, redis: &RedisServer) -> crate::process::Relay {
    crate::process::start(db, redis, "off", &[("RELAY_MAINTENANCE_EVERY_SECS", "1")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_publishes_a_tick_every_period_and_prunes_on_it() {
    let db = TestDatabase::create().await;
    let redis = RedisServer::start().unwrap();
    let client = db.client().await;
    // Acknowledged 8 days ago and never relayed: with Kafka off, past the policy.
    client
        .batch_execute(&format!(
            "INSERT INTO outbox (event_id, event_type, aggregate_id, payload, consumed_at) \
             SELECT gen_random_uuid(), 'order.created', g, '{{}}', {NOW} - interval '8 days' \
             FROM generate_series(1, 3) g; \
             INSERT INTO outbox (event_id, event_type, aggregate_id, payload, consumed_at) \
             VALUES (gen_random_uuid(), 'order.created', 9, '{{}}', {NOW});"
        ))
        .await
        .unwrap();
    let mut pubsub = redis::Client::open(redis.url())
        .unwrap()
        .get_async_pubsub()
        .await
        .unwrap();
    pubsub.subscribe("maintenance.tick").await.unwrap();
    let mut ticks = pubsub.on_message();

    let relay = start_relay(&db, &redis);
    let started = Instant::now();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let message = tokio::time::timeout(Duration::from_secs(10), ticks.next())
            .await
            .expect("a maintenance.tick within 10 s")
            .unwrap();
        seen.push((Instant::now(), message.get_payload::<String>().unwrap()));
    }
    // A new leader ticks at once, then every second.
    assert!(seen[0].0 - started < Duration::from_secs(5));
    let gap = seen[1].0 - seen[0].0;
    assert!(
        gap >= Duration::from_millis(500) && gap < Duration::from_secs(4),
        "{gap:?}"
    );
    for (_, payload) in &seen {
        let tick: serde_json::Value = serde_json::from_str(payload).unwrap();
        assert_eq!(tick["type"], "maintenance.tick", "{payload}");
        assert_eq!(tick.as_object().unwrap().len(), 2, "{payload}");
        let at = tick["at"].as_str().unwrap();
        assert!(at.ends_with('Z') && at.len() == 27, "{at}");
        // RFC 3339, UTC, and now (as Postgres reads it).
        let skew: f64 = client
            .query_one(
                "SELECT abs(EXTRACT(EPOCH FROM now() - $1::text::timestamptz))::float8",
                &[&at],
            )
            .await
            .unwrap()
            .get(0);
        assert!(skew < 30.0, "{at} is {skew} s off");
    }

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: i64 = client
            .query_one("SELECT count(*) FROM outbox", &[])
            .await
            .unwrap()
            .get(0);
        if left == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "{left} outbox rows left");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        relay
            .metric(r#"relay_pruned_rows_total{table="outbox"}"#)
            .await,
        3.0
    );
    assert_eq!(
        relay
            .metric(r#"relay_pruned_rows_total{table="processed_events"}"#)
            .await,
        0.0
    );
    assert!(relay.metric("relay_maintenance_ticks_total").await >= 2.0);
    let last = relay
        .metric("relay_maintenance_last_tick_timestamp_seconds")
        .await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - last).abs() < 30.0, "last tick {last}, now {now}");
}
