//! The storefront component: the built app (storefront/dist) at `/` and
//! `/app/...`, its hashed files at `/assets/...`, with the content types,
//! ETags, cache policy and gzip the browser relies on; the API keeps its
//! paths beside it. `cargo xtask build` builds the app first.

use std::io::Read;
use std::path::PathBuf;

use integration::TestEnv;

fn dist() -> PathBuf {
    integration::workspace_root().join("storefront/dist")
}

/// Every file of the build under `assets/`, as `/assets/<name>`.
fn built_assets() -> Vec<(String, Vec<u8>)> {
    let dir = dist().join("assets");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask build`)", dir.display()))
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (format!("/assets/{name}"), std::fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a gzip body");
    out
}

async fn get(env: &TestEnv, path: &str, headers: &[(&str, &str)]) -> integration::Reply {
    let mut req = env.http.get(format!("{}{path}", env.base));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    env.send_for_file("GET", path, req).await
}

#[tokio::test]
async fn the_entry_answers_every_app_route_and_is_revalidated() {
    let env = TestEnv::start().await;
    let index = std::fs::read(dist().join("index.html")).expect("storefront/dist/index.html");
    for path in [
        "/",
        "/app",
        "/app/cart",
        "/app/orders/42?order_id=x&transaction_status=settlement",
    ] {
        let r = get(&env, path, &[]).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.raw, index, "{path}");
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.header("cache-control"), Some("no-cache"));
        assert!(r.header("etag").is_some_and(|t| t.starts_with('"')));
        let csp = r.header("content-security-policy").unwrap();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
    // A revalidation with the current tag is a 304 with no body.
    let tag = get(&env, "/", &[])
        .await
        .header("etag")
        .unwrap()
        .to_string();
    let r = get(&env, "/app/orders", &[("if-none-match", &tag)]).await;
    assert_eq!(r.status, 304);
    assert!(r.raw.is_empty());
    assert_eq!(r.header("etag"), Some(tag.as_str()));
    let r = get(&env, "/", &[("if-none-match", "\"stale\"")]).await;
    assert_eq!(r.status, 200);
    env.assert_clean();
}

#[tokio::test]
async fn hashed_assets_are_typed_immutable_and_gzipped_on_request() {
    let env = TestEnv::start().await;
    let assets = built_assets();
    assert!(
        assets.iter().any(|(p, _)| p.ends_with(".js")),
        "the build has a script: {:?}",
        assets.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    for (path, bytes) in &assets {
        let r = get(&env, path, &[]).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(&r.raw, bytes, "{path}");
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        let expected = if path.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else if path.ends_with(".css") {
            "text/css; charset=utf-8"
        } else {
            continue;
        };
        assert_eq!(r.header("content-type"), Some(expected), "{path}");
        // Text is sent gzipped to browsers that accept it, byte-identical
        // once unpacked, under its own tag.
        let gz = get(&env, path, &[("accept-encoding", "gzip, deflate, br")]).await;
        if gz.header("content-encoding") == Some("gzip") {
            assert_eq!(&gunzip(&gz.raw), bytes, "{path}");
            assert_ne!(gz.header("etag"), r.header("etag"));
            let tag = gz.header("etag").unwrap().to_string();
            let again = get(
                &env,
                path,
                &[("accept-encoding", "gzip"), ("if-none-match", &tag)],
            )
            .await;
            assert_eq!(again.status, 304, "{path}");
        } else {
            assert!(
                bytes.len() < 64,
                "{path}: text of {} bytes not gzipped",
                bytes.len()
            );
        }
    }
    env.assert_clean();
}

#[tokio::test]
async fn unknown_files_and_writes_are_json_errors_and_the_api_keeps_its_paths() {
    let env = TestEnv::start().await;
    for path in [
        "/assets/nope.js",
        "/assets/",
        "/api/orders",
        "/index.html",
        "/favicon.ico",
    ] {
        let r = get(&env, path, &[]).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
        assert_eq!(r.error(), "Not found", "{path}");
    }
    let r = env
        .send_for_file(
            "POST",
            "/app/cart",
            env.http.post(format!("{}/app/cart", env.base)),
        )
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    assert_eq!(r.error(), "Method not allowed");
    // The API beside it.
    assert_eq!(env.get("/health").await.status, 200);
    let products = env.get("/product").await;
    assert_eq!(products.status, 200);
    assert_eq!(products.header("content-type"), Some("application/json"));
    env.assert_clean();
}

#[tokio::test]
async fn a_file_costs_one_instance_and_its_log_line() {
    let env = TestEnv::start().await;
    let (path, _) = built_assets().into_iter().next().unwrap();
    get(&env, "/", &[]).await;
    let before = env.stats();
    for _ in 0..10 {
        assert_eq!(get(&env, &path, &[]).await.status, 200);
        assert_eq!(get(&env, "/app/orders", &[]).await.status, 200);
    }
    let after = env.stats();
    assert_eq!(after.instances - before.instances, 20);
    assert_eq!(after.stdio_writes - before.stdio_writes, 20);
    assert_eq!(after.variables_app - before.variables_app, 0);
    assert_eq!(after.pg_connections - before.pg_connections, 0);
    assert_eq!(after.redis_connections - before.redis_connections, 0);
    env.assert_clean();
}
