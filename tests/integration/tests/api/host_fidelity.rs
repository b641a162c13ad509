//! The project host behaves like Spin 3.6.3 where the app depends on it
//! (shared/spin-facts.md, "Verified by running a real Spin 3.6.3"). Each
//! test drives the probe fixture component through real HTTP.

use std::collections::HashMap;
use std::sync::Arc;

use integration::{RedisServer, TestDatabase};
use platform_host::App;

struct Probe {
    app: Arc<App>,
    base: String,
    _db: TestDatabase,
    redis: RedisServer,
}

impl Probe {
    async fn start(allowed_http: &str) -> Probe {
        let db = TestDatabase::create().await;
        let redis = RedisServer::start().unwrap();
        let env = HashMap::from([
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
            (
                "SPIN_VARIABLE_ALLOWED_HTTP".to_string(),
                allowed_http.to_string(),
            ),
        ]);
        let manifest = integration::workspace_root().join("tests/fixtures/probe/spin.toml");
        let (app, base, _server) = integration::serve(manifest, env, None).await;
        Probe {
            app,
            base,
            _db: db,
            redis,
        }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let r = reqwest::get(format!("{}{}", self.base, path))
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

#[tokio::test]
async fn a_trap_is_an_empty_500_and_the_next_request_is_served() {
    let p = Probe::start("http://127.0.0.1:1").await;
    assert_eq!(p.get("/probe/trap").await, (500, String::new()));
    assert_eq!(p.get("/probe/headers").await.0, 200);
    assert_eq!(p.app.stats().traps, 1);
}

#[tokio::test]
async fn routes_well_known_paths_and_spin_headers() {
    let p = Probe::start("http://127.0.0.1:1").await;
    assert_eq!(
        p.get("/.well-known/spin/health").await,
        (200, "OK".to_string())
    );
    assert_eq!(p.get("/.well-known/spin/other").await.0, 404);
    assert_eq!(
        p.get("/not-routed").await,
        (404, String::new()),
        "no route: empty 404"
    );
    let (status, headers) = p.get("/probe/headers?x=1").await;
    assert_eq!(status, 200);
    let h: HashMap<&str, &str> = headers.lines().filter_map(|l| l.split_once('=')).collect();
    assert_eq!(h["spin-path-info"], "/headers");
    assert_eq!(h["spin-matched-route"], "/probe/...");
    assert_eq!(h["spin-component-route"], "/probe");
    assert_eq!(h["spin-base-path"], "/");
    assert_eq!(h["spin-full-url"], format!("{}/probe/headers?x=1", p.base));
    assert!(h["spin-client-addr"].starts_with("127.0.0.1:"));
    assert_eq!(
        p.app.stats().instances,
        1,
        "well-known paths and misses run no component"
    );
}

#[tokio::test]
async fn postgres_type_mapping_matches_spin() {
    let p = Probe::start("http://127.0.0.1:1").await;
    let (status, body) = p.get("/probe/pg/types").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#"Decimal("12.50")"#), "{body}");
    assert!(
        body.contains("Int64(7)") && body.contains("Int32(3)"),
        "{body}"
    );
    assert!(
        body.contains(r#"Uuid("6a1f6c2e-5a34-4e57-9c1e-0f5d7b8a9c10")"#),
        "{body}"
    );
    assert!(
        body.contains("Jsonb(") && body.contains("Datetime(("),
        "{body}"
    );

    // timestamptz cannot be read: the whole query fails.
    let (status, body) = p.get("/probe/pg/timestamptz").await;
    assert_eq!(status, 422, "{body}");
    // Parameters must carry the column's exact type.
    assert_eq!(p.get("/probe/pg/int64-into-int4").await.0, 422);
    assert_eq!(p.get("/probe/pg/str-into-jsonb").await.0, 422);
    assert_eq!(p.get("/probe/pg/cast-str-into-jsonb").await.0, 200);
    // One statement per call.
    assert_eq!(p.get("/probe/pg/two-statements").await.0, 422);
    // Zero rows: an empty row set with no columns (and no hang).
    assert_eq!(
        p.get("/probe/pg/zero-rows").await,
        (200, "columns=[]\nrows=[]".to_string())
    );
    assert_eq!(p.app.stats().leaked_transactions, 0);
}

#[tokio::test]
async fn a_transaction_left_open_is_detected() {
    let p = Probe::start("http://127.0.0.1:1").await;
    assert_eq!(p.get("/probe/leak").await, (200, "true true".to_string()));
    assert_eq!(p.app.stats().leaked_transactions, 1);
    // It was rolled back: the next request's session is clean.
    assert_eq!(p.get("/probe/pg/zero-rows").await.0, 200);
    assert_eq!(p.app.stats().leaked_transactions, 1);
}

#[tokio::test]
async fn outbound_http_is_limited_to_allowed_hosts() {
    let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = server.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = server.accept().await.unwrap();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                    .await;
            });
        }
    });
    let p = Probe::start(&format!("http://127.0.0.1:{port}")).await;
    let allowed = p
        .get(&format!("/probe/outbound?url=http://127.0.0.1:{port}/x"))
        .await;
    assert_eq!(allowed, (200, "status 204".to_string()));
    let (status, body) = p.get("/probe/outbound?url=http://localhost:9/x").await;
    assert_eq!(status, 502);
    assert!(body.contains("HttpRequestDenied"), "{body}");
    let stats = p.app.stats();
    assert_eq!((stats.outbound_http, stats.outbound_denied), (1, 1));
}

/// Review item: the data layer dropped the SQLSTATE and answered 500 for all
/// but 23514. Real Postgres errors, provoked through the services' own
/// `component_support::db` inside Wasm, map to the contract.
#[tokio::test]
async fn database_errors_keep_their_meaning() {
    let p = Probe::start("http://127.0.0.1:1").await;
    for (case, expected) in [
        ("unique", "conflict: email is already taken"),
        ("check", "invalid-input: price is out of range"),
        (
            "foreign-key",
            "not-found: A record this refers to does not exist",
        ),
        (
            "malformed",
            "invalid-input: A value is malformed or out of range",
        ),
        ("nul", "invalid-input: A value is malformed or out of range"),
        (
            "timeout",
            "unavailable: The database took too long to answer",
        ),
        ("bug", "internal: "),
    ] {
        assert_eq!(
            p.get(&format!("/probe/db-error/{case}")).await,
            (200, expected.to_string()),
            "{case}"
        );
    }
    // A lost serialization race or a deadlock runs once more, then is a 503.
    for case in ["serialization", "deadlock"] {
        let before = p.app.stats();
        assert_eq!(
            p.get(&format!("/probe/db-error/{case}")).await,
            (
                200,
                "unavailable: The database is busy; try again".to_string()
            ),
        );
        assert_eq!(p.app.stats().since(&before).pg_statements, 2, "{case}");
    }
}

/// Spin 3.6.3's key-value store backed by Redis (`key-value-redis`): raw
/// keys (what outbound Redis wrote, no prefix), `None` for a missing key,
/// `AccessDenied` for a label the component does not list, a type error as
/// `Other`, and no start at all when a listed label is not configured.
#[tokio::test]
async fn the_key_value_store_reads_the_same_redis_as_spin() {
    let p = Probe::start("http://127.0.0.1:1").await;
    let mut redis = integration::redis_client(&p.redis);
    redis::cmd("SET")
        .arg("catalog:product:7")
        .arg("written by a script")
        .exec(&mut redis)
        .unwrap();
    redis::cmd("SADD")
        .arg("a-set")
        .arg("x")
        .exec(&mut redis)
        .unwrap();
    let before = p.app.stats();
    assert_eq!(
        p.get("/probe/kv/cache/catalog:product:7").await,
        (200, "written by a script".to_string())
    );
    let used = p.app.stats().since(&before);
    assert_eq!(
        (used.key_value_calls, used.redis_connections),
        (2, 0),
        "open + get, no outbound Redis connection"
    );
    assert_eq!(
        p.get("/probe/kv/cache/absent").await,
        (404, "none".to_string())
    );
    assert_eq!(
        p.get("/probe/kv/elsewhere/k").await,
        (403, "Error::AccessDenied".to_string())
    );
    let (status, body) = p.get("/probe/kv/cache/a-set").await;
    assert_eq!(status, 500);
    assert!(body.starts_with("Error::Other("), "{body}");

    // A listed label the runtime config does not define stops the start.
    let err = match App::load(platform_host::AppOptions {
        manifest: integration::workspace_root().join("tests/fixtures/probe/spin.toml"),
        env: ["REDIS_URL", "REDIS_PORT", "DATABASE_URL", "DATABASE_PORT"]
            .into_iter()
            .map(|v| (format!("SPIN_VARIABLE_{v}"), "1".to_string()))
            .collect(),
        use_process_env: false,
        components: Vec::new(),
        check_transactions: true,
        logs: Default::default(),
        runtime_config: Default::default(),
    }) {
        Ok(_) => panic!("loaded without the store's runtime config"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("unknown key_value_stores label"), "{err}");
}
