//! The catalog end to end: HTTP → project host → gateway → catalog →
//! real Postgres and Redis. Every response is checked against openapi.json.

use integration::TestEnv;
use serde_json::{json, Value};

fn product(name: &str, price: i64, stock: i64) -> Value {
    json!({"name": name, "description": format!("{name} description"), "price": price, "stock": stock})
}

async fn create(env: &TestEnv, name: &str, price: i64, stock: i64) -> Value {
    let r = env
        .call(
            "POST",
            "/product",
            Some(&TestEnv::admin()),
            Some(product(name, price, stock)),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    r.json["product"].clone()
}

#[tokio::test]
async fn health_and_readiness() {
    let env = TestEnv::start().await;
    let r = env.get("/health").await;
    assert_eq!((r.status, r.json.clone()), (200, json!({"status": "ok"})));
    let r = env.get("/health/ready").await;
    assert_eq!(r.status, 200);
    let r = env.get("/openapi.json").await;
    assert_eq!(r.json["openapi"], "3.1.0");
    assert!(r.json["paths"]["/product/{id}"].is_object());
    env.assert_clean();
}

#[tokio::test]
async fn product_lifecycle() {
    let env = TestEnv::start().await;
    let created = create(&env, "Kopi Luwak", 250_000, 7).await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["name"], "Kopi Luwak");
    assert_eq!(created["price"], 250_000);
    assert_eq!(created["stock"], 7);

    let r = env.get(&format!("/product/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["product"], created);

    let r = env.get("/product").await;
    assert_eq!(r.json["total"], 1);
    assert_eq!(r.json["products"][0]["id"], id);
    assert!(r.json["products"][0].get("created_at").is_none());

    let admin = TestEnv::admin();
    let r = env
        .call(
            "PUT",
            &format!("/product/{id}"),
            Some(&admin),
            Some(product("Kopi Luwak Premium", 300_000, 5)),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["product"]["name"], "Kopi Luwak Premium");
    // Cached reads see the write at once: the product key and the lists were invalidated.
    let r = env.get(&format!("/product/{id}")).await;
    assert_eq!(r.json["product"]["price"], 300_000);
    let r = env.get("/product").await;
    assert_eq!(r.json["products"][0]["name"], "Kopi Luwak Premium");

    let r = env
        .call("DELETE", &format!("/product/{id}"), Some(&admin), None)
        .await;
    assert_eq!(r.status, 204);
    assert!(r.raw.is_empty());
    let mut redis = integration::redis_client(&env.redis);
    let tomb: Option<String> = redis::cmd("GET")
        .arg(format!("catalog:product:{id}"))
        .query(&mut redis)
        .unwrap();
    assert_eq!(
        tomb.as_deref(),
        Some("deleted"),
        "a tombstone keeps stale fills out"
    );
    let r = env.get(&format!("/product/{id}")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error(), format!("Product {id} not found"));
    let r = env.get("/product").await;
    assert_eq!(r.json["total"], 0);
    let r = env
        .call("DELETE", &format!("/product/{id}"), Some(&admin), None)
        .await;
    assert_eq!(r.status, 404);
    env.assert_clean();
}

#[tokio::test]
async fn pages_are_newest_first_and_do_not_overlap() {
    let env = TestEnv::start().await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            create(&env, &format!("p{i}"), 1000 + i, 1).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    ids.reverse();
    let page = |r: &integration::Reply| -> Vec<i64> {
        r.json["products"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect()
    };
    let first = env.get("/product").await;
    assert_eq!(
        (first.json["page"].clone(), first.json["page_size"].clone()),
        (json!(1), json!(15))
    );
    assert_eq!(first.json["total"], 20);
    assert_eq!(page(&first), ids[..15]);
    let second = env.get("/product?page=2").await;
    assert_eq!(page(&second), ids[15..]);
    let small = env.get("/product?page=3&page_size=7").await;
    assert_eq!(page(&small), ids[14..20]);
    let beyond = env.get("/product?page=9").await;
    assert_eq!(page(&beyond), Vec::<i64>::new());
    assert_eq!(beyond.json["total"], 20);
    env.assert_clean();
}

#[tokio::test]
async fn cache_is_filled_and_invalidated_precisely() {
    let env = TestEnv::start().await;
    let a = create(&env, "a", 10, 1).await["id"].as_i64().unwrap();
    let b = create(&env, "b", 20, 1).await["id"].as_i64().unwrap();
    env.get(&format!("/product/{a}")).await;
    env.get(&format!("/product/{b}")).await;
    let mut redis = integration::redis_client(&env.redis);
    let cached: Option<String> = redis::cmd("GET")
        .arg(format!("catalog:product:{a}"))
        .query(&mut redis)
        .unwrap();
    let cached: Value = serde_json::from_str(&cached.expect("product a is cached")).unwrap();
    assert_eq!(cached["name"], "a");
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("catalog:product:{a}"))
        .query(&mut redis)
        .unwrap();
    assert!((590..=600).contains(&ttl), "ttl {ttl}");

    let r = env
        .call(
            "PUT",
            &format!("/product/{a}"),
            Some(&TestEnv::admin()),
            Some(product("a2", 11, 1)),
        )
        .await;
    assert_eq!(r.status, 200);
    let fresh: Option<String> = redis::cmd("GET")
        .arg(format!("catalog:product:{a}"))
        .query(&mut redis)
        .unwrap();
    let fresh: Value = serde_json::from_str(&fresh.expect("written through")).unwrap();
    assert_eq!(fresh["name"], "a2", "a's key holds the new value");
    // A reader that read the old row before the write cannot put it back:
    // fills only happen when the key is absent.
    let stale = serde_json::to_string(&cached).unwrap();
    let filled: Option<String> = redis::cmd("SET")
        .arg(format!("catalog:product:{a}"))
        .arg(&stale)
        .arg("NX")
        .query(&mut redis)
        .unwrap();
    assert!(filled.is_none());
    assert_eq!(
        env.get(&format!("/product/{a}")).await.json["product"]["name"],
        "a2"
    );
    let kept: Option<String> = redis::cmd("GET")
        .arg(format!("catalog:product:{b}"))
        .query(&mut redis)
        .unwrap();
    assert!(kept.is_some(), "b's key is untouched");
    env.assert_clean();
}

#[tokio::test]
async fn catalog_reads_survive_redis_going_away() {
    let mut env = TestEnv::start().await;
    let id = create(&env, "sturdy", 5000, 3).await["id"]
        .as_i64()
        .unwrap();
    env.get(&format!("/product/{id}")).await;
    env.redis.stop();
    let r = env.get(&format!("/product/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["product"]["name"], "sturdy");
    let r = env.get("/product").await;
    assert_eq!(r.json["total"], 1);
    let r = env.get("/health/ready").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.error(), "redis is unavailable");
    // Writes still work (the limiter and the cache step aside).
    let r = env
        .call(
            "POST",
            "/product",
            Some(&TestEnv::admin()),
            Some(product("offline", 1, 1)),
        )
        .await;
    assert_eq!(r.status, 201);
    env.redis.resume().unwrap();
    let r = env.get("/health/ready").await;
    assert_eq!(r.status, 200);
    let r = env.get("/product").await;
    assert_eq!(r.json["total"], 2);
    env.assert_clean();
}

#[tokio::test]
async fn writes_need_an_administrator() {
    let env = TestEnv::start().await;
    let body = Some(product("x", 1, 1));
    let r = env.call("POST", "/product", None, body.clone()).await;
    assert_eq!((r.status, r.error()), (401, "Missing bearer token"));
    let r = env
        .call("POST", "/product", Some("not-a-jwt"), body.clone())
        .await;
    assert_eq!((r.status, r.error()), (401, "Invalid or expired token"));
    let forged = auth_core::issue_access_token(
        b"another-secret-another-secret-xx",
        1,
        auth_core::Role::Admin,
        900,
    )
    .unwrap();
    let r = env
        .call("POST", "/product", Some(&forged), body.clone())
        .await;
    assert_eq!(r.status, 401);
    let r = env
        .call("POST", "/product", Some(&TestEnv::customer()), body.clone())
        .await;
    assert_eq!((r.status, r.error()), (403, "Administrator role required"));
    let r = env
        .call(
            "PUT",
            "/product/1",
            Some(&TestEnv::customer()),
            body.clone(),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = env.call("DELETE", "/product/1", None, None).await;
    assert_eq!(r.status, 401);
    let basic = env
        .http
        .post(format!("{}/product", env.base))
        .header("authorization", "Basic YTpi");
    let r = env.send("POST", "/product", basic).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        env.get("/product").await.json["total"],
        0,
        "nothing was written"
    );
    env.assert_clean();
}

#[tokio::test]
async fn bad_input_gets_the_contract_error() {
    let env = TestEnv::start().await;
    let admin = TestEnv::admin();
    let raw = |body: &str| {
        env.http
            .post(format!("{}/product", env.base))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    for body in [
        "{",
        "[]",
        "null",
        r#"{"name":"x","price":"12","stock":1}"#,
        r#"{"name":"x","price":12}"#,
        r#"{"name":"x","price":-5,"stock":1}"#,
        r#"{"name":"x","price":5,"stock":-1}"#,
        r#"{"name":"x","price":1.5,"stock":1}"#,
        r#"{"name":"","price":5,"stock":1}"#,
        r#"{"name":"x","price":99999999999999999999999,"stock":1}"#,
        r#"{"name":"x","price":5,"stock":1,"role":"admin"}"#,
        // The document says a string: null is refused, not read as empty.
        r#"{"name":"x","description":null,"price":5,"stock":1}"#,
    ] {
        let r = env.send("POST", "/product", raw(body)).await;
        assert_eq!(r.status, 400, "{body}: {:?}", r.json);
    }
    for path in [
        "/product?page=0",
        "/product?page_size=0",
        "/product?page_size=1000000",
        "/product?page=abc",
    ] {
        let r = env.get(path).await;
        assert_eq!(r.status, 400, "{path}");
    }
    for path in [
        "/product/abc",
        "/product/-1",
        "/product/0",
        "/product/1.5",
        "/product/99999999999999999999",
    ] {
        let r = env.get(path).await;
        assert_eq!(r.status, 400, "{path}");
    }
    let r = env.get("/product/424242").await;
    assert_eq!(r.status, 404);
    let r = env
        .call(
            "PUT",
            "/product/424242",
            Some(&admin),
            Some(product("x", 1, 1)),
        )
        .await;
    assert_eq!(r.status, 404);

    let huge = format!(
        r#"{{"name":"x","description":"{}","price":1,"stock":1}}"#,
        "a".repeat(2 * 1024 * 1024)
    );
    let r = env.send("POST", "/product", raw(&huge)).await;
    assert_eq!(r.status, 413);
    let chunked = env
        .http
        .post(format!("{}/product", env.base))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_stream(
            huge.into_bytes(),
        )));
    let r = env.send("POST", "/product", chunked).await;
    assert_eq!(
        r.status, 413,
        "a chunked body without Content-Length is bounded too"
    );

    let text = env
        .http
        .post(format!("{}/product", env.base))
        .bearer_auth(&admin)
        .body("{}");
    let r = env.send("POST", "/product", text).await;
    assert_eq!(r.status, 415);

    let r = env.get("/nope").await;
    assert_eq!((r.status, r.error()), (404, "Not found"));
    let r = env.call("PATCH", "/product/1", Some(&admin), None).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, PUT, DELETE"));
    assert_eq!(
        env.get("/product").await.json["total"],
        0,
        "nothing was written"
    );
    env.assert_clean();
}

fn futures_stream(bytes: Vec<u8>) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    let chunks: Vec<Vec<u8>> = bytes.chunks(64 * 1024).map(<[u8]>::to_vec).collect();
    futures::stream::iter(chunks.into_iter().map(Ok))
}

#[tokio::test]
async fn reads_cost_what_they_should() {
    let env = TestEnv::start().await;
    let id = create(&env, "counted", 10, 1).await["id"].as_i64().unwrap();

    let before = env.stats();
    assert_eq!(env.get(&format!("/product/{id}")).await.status, 200);
    let miss = env.stats().since(&before);
    assert_eq!(miss.instances, 1, "one instance per request");
    assert_eq!(
        miss.redis_connections, 1,
        "one Redis connection per request (Spin opens TCP per open)"
    );
    assert_eq!(
        miss.redis_commands, 1,
        "the fill's SET NX (the GET went through the store)"
    );
    assert_eq!(miss.key_value_calls, 2, "the store's open, then GET");
    assert_eq!((miss.pg_connections, miss.pg_statements), (1, 1));

    let before = env.stats();
    assert_eq!(env.get(&format!("/product/{id}")).await.status, 200);
    let hit = env.stats().since(&before);
    assert_eq!(
        (hit.redis_connections, hit.key_value_calls),
        (0, 2),
        "a hit is read through the key-value store: no TCP connect"
    );
    assert_eq!(hit.pg_connections, 0, "a cache hit never touches Postgres");

    let before = env.stats();
    assert_eq!(env.get("/health").await.status, 200);
    let health = env.stats().since(&before);
    assert_eq!((health.redis_connections, health.pg_connections), (0, 0));
    env.assert_clean();
}

/// Review item: a NUL in any text field was Postgres's 22021 and a 500.
#[tokio::test]
async fn nul_bytes_in_text_are_refused_not_a_500() {
    let env = TestEnv::start().await;
    let admin = TestEnv::admin();
    let id = create(&env, "clean", 10, 1).await["id"].as_i64().unwrap();
    for body in [
        json!({"name": "a\u{0}b", "price": 1, "stock": 1}),
        json!({"name": "ok", "description": "x\u{0}", "price": 1, "stock": 1}),
    ] {
        let r = env
            .call("POST", "/product", Some(&admin), Some(body.clone()))
            .await;
        assert_eq!(r.status, 400, "{body}: {:?}", r.json);
        assert!(r.error().contains("NUL"), "{}", r.error());
        let r = env
            .call("PUT", &format!("/product/{id}"), Some(&admin), Some(body))
            .await;
        assert_eq!(r.status, 400);
    }
    let r = env.get(&format!("/product/{id}")).await;
    assert_eq!(r.json["product"]["name"], "clean", "nothing was changed");
    assert_eq!(env.get("/product").await.json["total"], 1);
    env.assert_clean();
}

/// Review item: write-through was a plain `SET`, so of two racing writers
/// the one that committed first could write last — a PUT racing a DELETE
/// left the deleted product cached, two PUTs the older value. Many racing
/// writers on one id, then the cache must equal the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writers_leave_the_cache_equal_to_the_database() {
    use redis::Commands;
    let env = TestEnv::start().await;
    let admin = TestEnv::admin();
    let mut redis = integration::redis_client(&env.redis);
    let client = env.db.client().await;
    for round in 0..12 {
        let id = create(&env, "raced", 1, 1).await["id"].as_i64().unwrap();
        let path = format!("/product/{id}");
        let writers = (0..16).map(|i| {
            let (path, admin) = (path.clone(), admin.clone());
            let env = &env;
            async move {
                if round % 2 == 1 && i == 8 {
                    env.call("DELETE", &path, Some(&admin), None).await.status
                } else {
                    let body = product("raced", 100 + i, 1);
                    env.call("PUT", &path, Some(&admin), Some(body))
                        .await
                        .status
                }
            }
        });
        for status in futures::future::join_all(writers).await {
            assert!([200, 204, 404].contains(&status), "{status}");
        }
        let row = client
            .query_one(
                "SELECT price, deleted_at IS NOT NULL FROM products WHERE id = $1",
                &[&id],
            )
            .await
            .unwrap();
        let (price, deleted): (i64, bool) = (row.get(0), row.get(1));
        let cached: Option<Vec<u8>> = redis.get(format!("catalog:product:{id}")).unwrap();
        let cached = cached.expect("every write writes the cache through");
        if deleted {
            assert_eq!(
                cached, b"deleted",
                "round {round}: a deleted product is cached"
            );
        } else {
            let entry: Value = serde_json::from_slice(&cached).unwrap();
            assert_eq!(
                entry["price"], price,
                "round {round}: an older value is cached"
            );
        }
        let r = env.get(&path).await;
        if deleted {
            assert_eq!(r.status, 404);
        } else {
            assert_eq!(r.json["product"]["price"], price);
        }
    }
    env.assert_clean();
}

/// Review item: any `page` up to 10⁷ was accepted, and every page past the
/// end cost a count query and a 10-minute Redis key.
#[tokio::test]
async fn pages_are_bounded_and_past_the_end_costs_no_query() {
    use redis::Commands;
    let env = TestEnv::start().await;
    for i in 0..3 {
        create(&env, &format!("p{i}"), 10, 1).await;
    }
    assert_eq!(env.get("/product").await.json["total"], 3);
    for page in [2, 50, 666] {
        let before = env.stats();
        let r = env.get(&format!("/product?page={page}")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json["products"], json!([]));
        assert_eq!(r.json["total"], 3, "the total is still told");
        let cost = env.stats().since(&before);
        assert_eq!(cost.pg_statements, 0, "page {page} queried the database");
    }
    let mut redis = integration::redis_client(&env.redis);
    let keys: Vec<String> = redis.keys("catalog:list:*").unwrap();
    assert_eq!(keys.len(), 1, "only page 1 is cached: {keys:?}");
    for path in [
        "/product?page=10001",
        "/product?page=668",
        "/product?page=101&page_size=100",
    ] {
        assert_eq!(env.get(path).await.status, 400, "{path}");
    }
    env.assert_clean();
}
