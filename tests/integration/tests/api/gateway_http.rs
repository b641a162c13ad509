//! Gateway behaviour that is not about one service: rate limits, CORS,
//! request ids, and the host's enforcement of allowed_outbound_hosts.

use integration::TestEnv;
use serde_json::json;

fn body() -> Option<serde_json::Value> {
    Some(json!({"name": "limited", "price": 100, "stock": 1}))
}

#[tokio::test]
async fn product_writes_are_rate_limited_per_user() {
    let env = TestEnv::start_with(&[("rate_limit", "3/1")]).await;
    let admin = TestEnv::admin();
    for remaining in [2, 1, 0] {
        let r = env.call("POST", "/product", Some(&admin), body()).await;
        assert_eq!(r.status, 201);
        // IETF fields: capacity 3, refilled from empty in 3 s at 1/s.
        assert_eq!(
            r.header("ratelimit-policy"),
            Some(r#""product-write";q=3;w=3"#)
        );
        let state = r.header("ratelimit").unwrap();
        assert!(
            state.starts_with(&format!(r#""product-write";r={remaining};t="#)),
            "{state}"
        );
        assert!(r.header("x-ratelimit-limit").is_none());
    }
    let r = env.call("POST", "/product", Some(&admin), body()).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.error(), "Rate limit exceeded. Please try again later.");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(
        r.header("ratelimit-policy"),
        Some(r#""product-write";q=3;w=3"#)
    );
    assert_eq!(r.header("ratelimit"), Some(r#""product-write";r=0;t=1"#));
    // Another administrator has a bucket of their own.
    let other = TestEnv::token(99, true);
    let r = env.call("POST", "/product", Some(&other), body()).await;
    assert_eq!(r.status, 201);
    // The refused request wrote nothing: 3 + 1 products.
    assert_eq!(env.get("/product").await.json["total"], 4);
    // The bucket refills on the Redis clock.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = env.call("POST", "/product", Some(&admin), body()).await;
    assert_eq!(r.status, 201);
    env.assert_clean();
}

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let env = TestEnv::start().await;
    let r = env
        .send(
            "GET",
            "/health",
            env.http
                .get(format!("{}/health", env.base))
                .header("x-request-id", "abc-123"),
        )
        .await;
    assert_eq!(r.header("x-request-id"), Some("abc-123"));
    let r = env
        .send(
            "GET",
            "/health",
            env.http
                .get(format!("{}/health", env.base))
                .header("x-request-id", "bad id\twith spaces"),
        )
        .await;
    let made = r.header("x-request-id").unwrap();
    assert_eq!(made.len(), 32);
    assert_ne!(
        made,
        env.get("/health").await.header("x-request-id").unwrap()
    );
    env.assert_clean();
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let env = TestEnv::start_with(&[("cors_origins", "https://shop.example")]).await;
    let preflight = env
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/product", env.base))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let h = preflight.headers();
    assert_eq!(h["access-control-allow-origin"], "https://shop.example");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert!(h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("authorization"));

    let r = env
        .send(
            "GET",
            "/product",
            env.http
                .get(format!("{}/product", env.base))
                .header("origin", "https://evil.example"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.header("access-control-allow-origin").is_none());
    let r = env
        .send(
            "GET",
            "/product",
            env.http
                .get(format!("{}/product", env.base))
                .header("origin", "https://shop.example"),
        )
        .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    env.assert_clean();
}

#[tokio::test]
async fn host_refuses_hosts_not_in_allowed_outbound_hosts() {
    // The database URL points at 127.0.0.1, but the manifest only allows the
    // host named by `database_host`: the host must refuse the connection.
    let env = TestEnv::start_with(&[("database_host", "db.not-allowed.internal")]).await;
    let r = env.get("/product/1").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.error(), "The database is unavailable");
    assert!(env.stats().outbound_denied >= 1);
    assert_eq!(env.stats().pg_connections, 0, "no connection was opened");
    env.assert_clean();
}

#[tokio::test]
async fn concurrent_writes_and_reads_are_consistent() {
    let env = TestEnv::start_with(&[("rate_limit", "100/10")]).await;
    let admin = TestEnv::admin();
    let creates = (0..16).map(|i| {
        let env = &env;
        let admin = admin.clone();
        async move {
            env.call(
                "POST",
                "/product",
                Some(&admin),
                Some(json!({"name": format!("c{i}"), "price": 1 + i, "stock": i})),
            )
            .await
        }
    });
    let replies = futures::future::join_all(creates).await;
    let mut ids: Vec<i64> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201);
            r.json["product"]["id"].as_i64().unwrap()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 16);
    let reads = ids.iter().map(|id| env.get_owned(format!("/product/{id}")));
    for r in futures::future::join_all(reads).await {
        assert_eq!(r.status, 200);
    }
    assert_eq!(env.get("/product?page_size=100").await.json["total"], 16);
    env.assert_clean();
}

/// Review item: `Vary: Origin` was sent only when the origin was allowed, so
/// a shared cache could serve a response without CORS headers to an allowed
/// origin (or the reverse).
#[tokio::test]
async fn every_response_varies_on_origin() {
    let env = TestEnv::start_with(&[("cors_origins", "https://shop.example")]).await;
    for origin in [
        None,
        Some("https://evil.example"),
        Some("https://shop.example"),
    ] {
        for path in ["/health", "/product", "/nope"] {
            let mut req = env.http.get(format!("{}{path}", env.base));
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            let r = env.send("GET", path, req).await;
            let vary = r.header("vary").unwrap_or_default().to_ascii_lowercase();
            assert!(vary.contains("origin"), "{path} {origin:?}: vary {vary:?}");
        }
    }
    env.assert_clean();
}

/// Review item: the product list is limited per client address (the
/// `list_rate_limit` variable), with the contract's 429; `off` turns it off.
#[tokio::test]
async fn product_list_reads_are_limited_per_address() {
    let env = TestEnv::start_with(&[("list_rate_limit", "3/1")]).await;
    for _ in 0..3 {
        assert_eq!(env.get("/product").await.status, 200);
    }
    let r = env.get("/product").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.error(), "Rate limit exceeded. Please try again later.");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(
        env.get("/health").await.status,
        200,
        "other routes are not limited"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(env.get("/product").await.status, 200, "the bucket refills");
    env.assert_clean();

    let off = TestEnv::start_with(&[("list_rate_limit", "off")]).await;
    for _ in 0..10 {
        assert_eq!(off.get("/product").await.status, 200);
    }
}

/// Settings follow one rule (`platform_core::setting`): empty is the
/// default, nonsense is refused — a 500 whose log names the variable and
/// what it expects (never the value) — instead of being guessed into a
/// default or silently 0, as two of the three old conventions did.
#[tokio::test]
async fn a_nonsense_setting_is_refused_not_guessed() {
    let env = TestEnv::start_with(&[("rate_limit", "lots"), ("trusted_proxy_hops", "-1")]).await;
    // Raw requests: the harness's calls refuse any 500, which is the point here.
    let http = reqwest::Client::new();
    let url = format!("{}/product", env.base);
    let r = http
        .post(&url)
        .bearer_auth(TestEnv::admin())
        .json(&body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let error: serde_json::Value = r.json().await.unwrap();
    assert_eq!(error, json!({"error": "Internal server error"}));
    // Nothing was written past the refused setting.
    assert_eq!(env.get("/product").await.json["total"], 0);
    // The hops are read only when a proxy header is present.
    assert_eq!(env.get("/product").await.status, 200);
    let forwarded = http
        .get(&url)
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(forwarded.status(), 500);
    let log = env.stderr_of("products-api");
    assert!(
        log.contains(
            "variable rate_limit: expected capacity/refill per second (e.g. 20/0.2), or off"
        ),
        "{log}"
    );
    assert!(
        log.contains("variable trusted_proxy_hops: expected a whole number from 0 to 16"),
        "{log}"
    );
    assert!(
        !log.contains("lots"),
        "a setting's value is never logged: {log}"
    );
    env.assert_clean();
}
