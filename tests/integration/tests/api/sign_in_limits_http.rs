//! The sign-in limits as an attacker meets them (docs/decisions/0005 §4d,
//! §4e): only failures cost the email's buckets, so a stranger's guesses
//! lock out the stranger, not the owner; guessing from many addresses meets
//! the account's ceiling, which addresses the owner used still pass; and
//! the auth routes refuse when Redis cannot count, while orders go on.

use integration::{redis_server, TestEnv};
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

async fn register(env: &TestEnv, email: &str) -> integration::Reply {
    env.call(
        "POST",
        "/register",
        None,
        Some(json!({"full_name": "Sari", "email": email, "password": PASSWORD})),
    )
    .await
}

/// A sign-in from `address` (the test app trusts one proxy hop).
async fn login_from(
    env: &TestEnv,
    address: &str,
    email: &str,
    password: &str,
) -> integration::Reply {
    let req = env
        .http
        .post(format!("{}/login", env.base))
        .header("x-forwarded-for", address)
        .header("content-type", "application/json")
        .body(json!({"email": email, "password": password}).to_string());
    env.send("POST", "/login", req).await
}

/// An operator may turn every sign-in limit off (`off` is documented for
/// each): sign-in then works without them, it does not answer 503.
#[tokio::test]
async fn sign_in_works_with_every_limit_off() {
    let env = TestEnv::start_with(&[
        ("login_rate_limit", "off"),
        ("login_failure_rate_limit", "off"),
        ("login_account_failure_rate_limit", "off"),
    ])
    .await;
    let email = "limitless@example.com";
    assert_eq!(register(&env, email).await.status, 201);
    let r = login_from(&env, "198.51.100.9", email, PASSWORD).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let r = login_from(&env, "198.51.100.9", email, "wrong-password").await;
    assert_eq!(r.status, 401, "{:?}", r.json);
    assert_eq!(r.header("ratelimit"), None, "no limit, no RateLimit field");
}

#[tokio::test]
async fn a_strangers_wrong_guesses_lock_out_the_stranger_not_the_owner() {
    let env = TestEnv::start_with(&[
        ("trusted_proxy_hops", "1"),
        ("login_failure_rate_limit", "3/0.01"),
        ("login_rate_limit", "50/0.01"),
    ])
    .await;
    let victim = "victim@example.com";
    assert_eq!(register(&env, victim).await.status, 201);
    let attacker = "203.0.113.5";
    for i in 1..=3 {
        let r = login_from(&env, attacker, victim, "guess-guess").await;
        assert_eq!(r.status, 401, "guess {i}");
    }
    for _ in 0..30 {
        let r = login_from(&env, attacker, victim, "guess-guess").await;
        assert_eq!(r.status, 429);
    }
    let r = login_from(&env, attacker, victim, "guess-guess").await;
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((90..=100).contains(&retry), "one token per 100 s: {retry}");
    assert_eq!(
        r.header("ratelimit-policy"),
        Some(r#""login-failure";q=3;w=300"#)
    );
    // The owner, from anywhere else, is not locked out ...
    let owner = "198.51.100.7";
    for _ in 0..6 {
        let r = login_from(&env, owner, victim, PASSWORD).await;
        assert_eq!(r.status, 200, "{:?}", r.json);
    }
    // ... and only failures cost: two typos, then the right password is
    // still let in (the success's own token comes back).
    for _ in 0..2 {
        assert_eq!(login_from(&env, owner, victim, "typo").await.status, 401);
    }
    for _ in 0..3 {
        assert_eq!(login_from(&env, owner, victim, PASSWORD).await.status, 200);
    }
    // Another IPv6 address in the attacker's /64 shares its bucket.
    let v6 = "2001:db8:9:1::1";
    for _ in 0..3 {
        assert_eq!(login_from(&env, v6, victim, "guess").await.status, 401);
    }
    let r = login_from(&env, "2001:db8:9:1::ffff", victim, PASSWORD).await;
    assert_eq!(r.status, 429, "same /64, same bucket");
    env.assert_clean();
}

#[tokio::test]
async fn guesses_from_many_addresses_meet_the_account_ceiling_which_known_addresses_pass() {
    let env = TestEnv::start_with(&[
        ("trusted_proxy_hops", "1"),
        ("login_failure_rate_limit", "3/0.01"),
        ("login_account_failure_rate_limit", "5/0.001"),
    ])
    .await;
    let email = "owner@example.com";
    assert_eq!(register(&env, email).await.status, 201);
    let home = "192.0.2.10";
    assert_eq!(login_from(&env, home, email, PASSWORD).await.status, 200);
    for i in 1..=5 {
        let r = login_from(&env, &format!("203.0.113.{i}"), email, "guess").await;
        assert_eq!(r.status, 401, "guess {i} from a fresh address");
    }
    let r = login_from(&env, "203.0.113.6", email, "guess").await;
    assert_eq!(r.status, 429);
    assert_eq!(
        r.header("ratelimit-policy"),
        Some(r#""login-account";q=5;w=5000"#)
    );
    // A new address is refused even with the right password (the soft
    // ceiling) ...
    let r = login_from(&env, "198.51.100.20", email, PASSWORD).await;
    assert_eq!(r.status, 429);
    // ... an address that signed in before passes, failing or not.
    assert_eq!(login_from(&env, home, email, "typo").await.status, 401);
    assert_eq!(login_from(&env, home, email, PASSWORD).await.status, 200);
    // Another account is not touched.
    assert_eq!(register(&env, "other@example.com").await.status, 201);
    let r = login_from(&env, "198.51.100.20", "other@example.com", PASSWORD).await;
    assert_eq!(r.status, 200);
    env.assert_clean();
}

async fn order(env: &TestEnv, customer: &str, product: i64) -> u16 {
    env.call(
        "POST",
        "/order",
        Some(customer),
        Some(json!({"items": [{"product_id": product, "quantity": 1}]})),
    )
    .await
    .status
}

#[tokio::test]
async fn auth_routes_refuse_when_redis_cannot_count_while_orders_go_on() {
    let fake = fake_oauth::FakeOAuth::start().await;
    let mut env = TestEnv::start_with(&[
        ("github_client_id", "gh"),
        ("github_client_secret", "gh-secret"),
        ("github_auth_base_url", &fake.base),
        ("github_api_base_url", &fake.base),
    ])
    .await;
    assert_eq!(register(&env, "steady@example.com").await.status, 201);
    let product = env.products(&[("Kopi", 25_000, 10)]).await[0];
    let (_, customer) = env.customer_account("Shopper").await;
    let refused = |r: &integration::Reply, what: &str| {
        assert_eq!(r.status, 503, "{what}: {:?}", r.json);
        assert_eq!(r.header("retry-after"), Some("5"), "{what}");
    };

    // Down: nothing can count.
    env.redis.stop();
    refused(
        &login_from(&env, "192.0.2.1", "steady@example.com", PASSWORD).await,
        "login",
    );
    refused(&register(&env, "new@example.com").await, "register");
    refused(&env.get("/oauth/github").await, "oauth start");
    assert_eq!(
        order(&env, &customer, product).await,
        201,
        "orders admit (Postgres decides)"
    );
    env.redis.resume().unwrap();

    // Out of memory under noeviction: Redis refuses the buckets' writes.
    let mut redis = redis_server::client(&env.redis);
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "maxmemory-policy", "noeviction"])
        .query(&mut redis)
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "maxmemory", "1"])
        .query(&mut redis)
        .unwrap();
    refused(
        &login_from(&env, "192.0.2.1", "steady@example.com", PASSWORD).await,
        "login, OOM",
    );
    refused(&register(&env, "new@example.com").await, "register, OOM");
    assert_eq!(
        order(&env, &customer, product).await,
        201,
        "orders admit under OOM"
    );
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "maxmemory", "0"])
        .query(&mut redis)
        .unwrap();

    let r = login_from(&env, "192.0.2.1", "steady@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert!(env.stderr_of("accounts-api").contains("rate limiter"));
    let signed_up: i64 = env
        .db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM users WHERE email = 'new@example.com'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        signed_up, 0,
        "no sign-up got past a limiter that could not count"
    );
}
