//! Sign-in with Google, GitHub and Facebook against the local fake provider
//! (`tests/fake-oauth`), reached through the production code path: only the
//! base URLs differ. Real Postgres and Redis.

use fake_oauth::{Account, App, FakeOAuth};
use integration::{Reply, TestEnv};
use serde_json::json;

const REDIRECT_BASE: &str = "http://127.0.0.1:3000";
const PROVIDERS: [&str; 3] = ["google", "github", "facebook"];

async fn start() -> (TestEnv, FakeOAuth) {
    let fake = FakeOAuth::start().await;
    let mut vars = vec![(
        "oauth_redirect_base_url".to_string(),
        REDIRECT_BASE.to_string(),
    )];
    for p in PROVIDERS {
        fake.register(
            p,
            App {
                client_id: format!("{p}-client"),
                client_secret: format!("{p}-secret"),
                redirect_uri: format!("{REDIRECT_BASE}/oauth/{p}/callback"),
            },
        );
        for (k, v) in [
            ("client_id", format!("{p}-client")),
            ("client_secret", format!("{p}-secret")),
            ("auth_base_url", fake.base.clone()),
            ("api_base_url", fake.base.clone()),
        ] {
            vars.push((format!("{p}_{k}"), v));
        }
    }
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    (TestEnv::start_with(&vars).await, fake)
}

fn account(subject: &str, email: Option<&str>, verified: bool) -> Account {
    Account {
        subject: subject.to_string(),
        name: "Siti Rahma".to_string(),
        email: email.map(str::to_string),
        email_verified: verified,
    }
}

/// `GET /oauth/{p}` → the provider's page → its redirect: (code, state).
async fn authorize(env: &TestEnv, p: &str) -> (String, String) {
    let r = env.get(&format!("/oauth/{p}")).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let url = r.json["url"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1"), "{url}");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = browser.get(url).send().await.unwrap();
    assert_eq!(
        resp.status().as_u16(),
        302,
        "{}",
        resp.text().await.unwrap()
    );
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let (target, query) = location.split_once('?').unwrap();
    assert_eq!(target, format!("{REDIRECT_BASE}/oauth/{p}/callback"));
    let q: std::collections::HashMap<String, String> = url_pairs(query).into_iter().collect();
    (q["code"].clone(), q["state"].clone())
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%2F", "/").replace("%3D", "=")))
        .collect()
}

async fn callback(env: &TestEnv, p: &str, code: &str, state: &str) -> Reply {
    env.get(&format!("/oauth/{p}/callback?code={code}&state={state}"))
        .await
}

async fn sign_in(env: &TestEnv, fake: &FakeOAuth, p: &str, who: Account) -> Reply {
    fake.sign_in_as(p, who);
    let (code, state) = authorize(env, p).await;
    callback(env, p, &code, &state).await
}

#[tokio::test]
async fn each_provider_signs_in_and_the_same_account_comes_back() {
    let (env, fake) = start().await;
    for (i, p) in PROVIDERS.into_iter().enumerate() {
        let subject = format!("{}", 1000 + i);
        let email = format!("siti.{p}@example.com");
        let first = sign_in(&env, &fake, p, account(&subject, Some(&email), true)).await;
        assert_eq!(
            first.status,
            200,
            "{p}: {:?} {:?}",
            first.json,
            fake.refusals()
        );
        let user = &first.json["user"];
        assert_eq!(user["full_name"], "Siti Rahma");
        // Facebook does not say an email is verified: the account has none.
        let expected = if p == "facebook" {
            json!(null)
        } else {
            json!(email)
        };
        assert_eq!(user["email"], expected, "{p}");
        let token = first.json["token"].as_str().unwrap();
        let me = env.call("GET", "/me", Some(token), None).await;
        assert_eq!(me.json["id"], user["id"]);
        // The refresh token of a provider session rotates like any other.
        let r = env
            .call(
                "POST",
                "/refresh",
                None,
                Some(json!({"refresh_token": first.json["refresh_token"]})),
            )
            .await;
        assert_eq!(r.status, 200);

        let again = sign_in(&env, &fake, p, account(&subject, Some(&email), true)).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.json["user"]["id"], user["id"], "{p}: same user twice");
    }
    assert!(fake.refusals().is_empty(), "{:?}", fake.refusals());
    env.assert_clean();
}

#[tokio::test]
async fn states_are_single_use_and_bound_to_their_verifier() {
    let (env, fake) = start().await;
    fake.sign_in_as("github", account("7", Some("gh@example.com"), true));
    let (code, state) = authorize(&env, "github").await;
    let r = callback(&env, "github", &code, &state).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    // The same state again: consumed.
    let r = callback(&env, "github", &code, &state).await;
    assert_eq!(r.status, 401);
    assert!(r.error().contains("start again"), "{}", r.error());
    // A state nobody issued.
    let r = callback(&env, "github", &code, "made-up-state").await;
    assert_eq!(r.status, 401);
    // A state issued for another provider.
    let (_, google_state) = {
        fake.sign_in_as("google", account("g", None, false));
        authorize(&env, "google").await
    };
    let r = callback(&env, "github", &code, &google_state).await;
    assert_eq!(r.status, 401);

    // A code presented with another sign-in's state carries that sign-in's
    // code_verifier, which does not match the code's challenge.
    let (code_a, _state_a) = authorize(&env, "github").await;
    let (_code_b, state_b) = authorize(&env, "github").await;
    let r = callback(&env, "github", &code_a, &state_b).await;
    assert_eq!(r.status, 401, "{:?}", r.json);
    assert!(
        fake.refusals()
            .iter()
            .any(|r| r == "token: wrong code_verifier"),
        "{:?}",
        fake.refusals()
    );
    // A used code is refused by the provider: single use on both sides.
    let (code_c, state_c) = authorize(&env, "github").await;
    assert_eq!(
        callback(&env, "github", &code_c, &state_c).await.status,
        200
    );
    let (_, state_d) = authorize(&env, "github").await;
    assert_eq!(
        callback(&env, "github", &code_c, &state_d).await.status,
        401
    );
    assert!(fake
        .refusals()
        .iter()
        .any(|r| r == "token: code already used"));

    // Missing parameters, and a cancelled sign-in.
    let r = env.get("/oauth/github/callback?state=x").await;
    assert_eq!(r.status, 400);
    let r = env
        .get("/oauth/github/callback?error=access_denied&state=x")
        .await;
    assert_eq!(r.status, 401);
    env.assert_clean();
}

#[tokio::test]
async fn provider_emails_link_only_when_verified() {
    let (env, fake) = start().await;
    let r = env
        .call(
            "POST",
            "/register",
            None,
            Some(json!({"full_name": "Owner", "email": "owner@example.com", "password": "owner-password"})),
        )
        .await;
    assert_eq!(r.status, 201);
    let login = env
        .call(
            "POST",
            "/login",
            None,
            Some(json!({"email": "owner@example.com", "password": "owner-password"})),
        )
        .await;
    let owner_id = login.json["user"]["id"].clone();

    // GitHub with the owner's address, unverified: refused, not linked.
    let r = sign_in(
        &env,
        &fake,
        "github",
        account("666", Some("Owner@example.com"), false),
    )
    .await;
    assert_eq!(r.status, 409, "{:?}", r.json);
    assert!(r.error().contains("sign in with your password"));
    // Facebook never vouches for an email: the same.
    let r = sign_in(
        &env,
        &fake,
        "facebook",
        account("fb-666", Some("owner@example.com"), true),
    )
    .await;
    assert_eq!(r.status, 409);

    // Google, verified: the identity joins the existing account.
    let r = sign_in(
        &env,
        &fake,
        "google",
        account("g-owner", Some("owner@example.com"), true),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["user"]["id"], owner_id);

    // A GitHub user without any email still gets an account.
    let r = sign_in(&env, &fake, "github", account("4242", None, false)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["user"]["email"], json!(null));
    assert_ne!(r.json["user"]["id"], owner_id);

    let db = env.db.client().await;
    let linked: i64 = db
        .query_one(
            "SELECT count(*) FROM oauth_identities WHERE user_id = $1",
            &[&owner_id.as_i64().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(linked, 1, "only Google's verified identity is linked");
    env.assert_clean();
}

/// Pre-account hijacking: an attacker registers the victim's address with a
/// password and keeps a session; when the victim signs in with a provider
/// that proves the address, the attacker's password and sessions are gone
/// and the account is the victim's (name included).
#[tokio::test]
async fn a_provider_proving_a_squatted_email_evicts_the_squatter() {
    let (env, fake) = start().await;
    let register = |email: &'static str, password: &'static str| {
        env.call(
            "POST",
            "/register",
            None,
            Some(json!({"full_name": "Squatter", "email": email, "password": password})),
        )
    };
    let login = |email: &'static str, password: &'static str| {
        env.call(
            "POST",
            "/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
    };
    assert_eq!(
        register("victim@example.com", "attacker-pass").await.status,
        201
    );
    let attacker = login("victim@example.com", "attacker-pass").await;
    assert_eq!(attacker.status, 200);
    assert_eq!(attacker.json["user"]["email_verified"], false);
    let attacker_refresh = attacker.json["refresh_token"].as_str().unwrap().to_string();

    let r = sign_in(
        &env,
        &fake,
        "google",
        account("g-victim", Some("victim@example.com"), true),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["user"]["id"], attacker.json["user"]["id"]);
    assert_eq!(
        r.json["user"]["full_name"], "Siti Rahma",
        "the provider's name"
    );
    assert_eq!(r.json["user"]["email_verified"], true);

    assert_eq!(
        login("victim@example.com", "attacker-pass").await.status,
        401
    );
    let r = env
        .call(
            "POST",
            "/refresh",
            None,
            Some(json!({ "refresh_token": attacker_refresh })),
        )
        .await;
    assert_eq!(r.status, 401, "the squatter's session is revoked");
    // The victim comes back through the provider as before.
    let again = sign_in(
        &env,
        &fake,
        "google",
        account("g-victim", Some("victim@example.com"), true),
    )
    .await;
    assert_eq!(again.status, 200);
    assert!(env
        .stderr_of("accounts-api")
        .contains("someone else registered"));
    let notices: i64 = env
        .db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM mail_deliveries m JOIN users u ON u.id = m.user_id \
             WHERE u.email = 'victim@example.com' AND m.kind = 'password_removed'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        notices, 1,
        "the owner is told the squatter's password is gone"
    );

    // A proven account links another provider's identity as before.
    let r = sign_in(
        &env,
        &fake,
        "github",
        account("gh-victim", Some("victim@example.com"), true),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let identities: i64 = env
        .db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM oauth_identities i JOIN users u ON u.id = i.user_id \
             WHERE u.email = 'victim@example.com' AND u.password_hash IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(identities, 2);
}

#[tokio::test]
async fn unconfigured_and_unknown_providers_are_404() {
    let env = TestEnv::start().await;
    for path in [
        "/oauth/google",
        "/oauth/twitter",
        "/oauth/github/callback?code=a&state=b",
    ] {
        let r = env.get(path).await;
        assert_eq!(r.status, 404, "{path}: {:?}", r.json);
    }
    assert_eq!(
        env.get("/oauth/github").await.error(),
        "Sign-in with GitHub is not configured"
    );
    env.assert_clean();
}

/// Each start keeps a state in Redis for 10 minutes, so starts are limited
/// per client address — and an IPv6 client is counted by its /64 (a
/// subscriber's allocation), not by each of its 2^64 addresses.
#[tokio::test]
async fn sign_in_starts_are_limited_per_address_and_ipv6_per_64() {
    let env =
        TestEnv::start_with(&[("oauth_rate_limit", "3/0.01"), ("trusted_proxy_hops", "1")]).await;
    let from = |addr: &str| {
        env.http
            .get(format!("{}/oauth/google", env.base))
            .header("x-forwarded-for", addr)
    };
    for i in 1..=3 {
        let r = env
            .send(
                "GET",
                "/oauth/{provider}",
                from(&format!("2001:db8:7:1::{i}")),
            )
            .await;
        assert_eq!(
            r.status, 404,
            "start {i} is admitted (google is not configured)"
        );
    }
    let r = env
        .send(
            "GET",
            "/oauth/{provider}",
            from("2001:db8:7:1:ffff:ffff:ffff:fffe"),
        )
        .await;
    assert_eq!(
        r.status, 429,
        "the same /64 shares one bucket: {:?}",
        r.json
    );
    assert!(r.header("retry-after").is_some());
    let r = env
        .send("GET", "/oauth/{provider}", from("2001:db8:7:2::1"))
        .await;
    assert_eq!(r.status, 404, "another /64 has its own bucket");
    let r = env
        .send("GET", "/oauth/{provider}", from("198.51.100.7"))
        .await;
    assert_eq!(r.status, 404, "an IPv4 client has its own bucket");
}
