//! The host's Redis trigger behaves like Spin 3.6.3's: messages handled one at
//! a time, an error or a trap drops that message only, and a lost connection
//! ends the trigger instead of reconnecting.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use integration::{RedisServer, TestDatabase};
use platform_host::{App, AppOptions};

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_trigger_has_spin_delivery_semantics() {
    let mut redis = RedisServer::start().unwrap();
    let db = TestDatabase::create().await;
    let app = Arc::new(
        App::load(AppOptions {
            logs: Default::default(),
            manifest: integration::workspace_root().join("tests/fixtures/probe/spin.toml"),
            env: HashMap::from([
                ("SPIN_VARIABLE_REDIS_URL".to_string(), redis.url()),
                (
                    "SPIN_VARIABLE_REDIS_PORT".to_string(),
                    redis.port.to_string(),
                ),
                ("SPIN_VARIABLE_DATABASE_URL".to_string(), db.url.clone()),
                (
                    "SPIN_VARIABLE_DATABASE_PORT".to_string(),
                    db.port.to_string(),
                ),
            ]),
            use_process_env: false,
            components: Vec::new(),
            check_transactions: true,
            runtime_config: integration::runtime_config(&HashMap::from([(
                "SPIN_VARIABLE_REDIS_URL".to_string(),
                redis.url(),
            )])),
        })
        .expect("fixture app loads (run `cargo xtask build`)"),
    );
    let running = app.clone();
    let trigger = tokio::spawn(async move { running.run(None).await });

    let mut conn = integration::redis_client(&redis);
    wait_for("the trigger to subscribe", || {
        let subs: Vec<(String, i64)> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg("events")
            .query(&mut conn)
            .unwrap();
        subs[0].1 == 1
    });
    for message in ["sleep:300:first", "fail", "trap", "second"] {
        let _: i64 = redis::cmd("PUBLISH")
            .arg("events")
            .arg(message)
            .query(&mut conn)
            .unwrap();
    }
    let mut received: Vec<String> = Vec::new();
    wait_for("two recorded messages", || {
        received = redis::cmd("LRANGE")
            .arg("received")
            .arg(0)
            .arg(-1)
            .query(&mut conn)
            .unwrap();
        received.len() >= 2
    });
    // `second` was published right after the slow `first` but recorded after
    // it: one message at a time. `fail` and `trap` did not stop the trigger.
    assert_eq!(received, ["first", "second"]);
    assert_eq!(app.stats().traps, 1);
    assert_eq!(app.stats().instances, 4, "a fresh instance per message");

    redis.stop();
    let ended = tokio::time::timeout(Duration::from_secs(15), trigger)
        .await
        .expect("the trigger ends when Redis goes away")
        .unwrap();
    let err = ended.expect_err("ending is an error, as in Spin");
    assert!(err.to_string().contains("disconnected"), "{err}");
}
