//! Accounts end to end: HTTP → project host → accounts-api → users →
//! real Postgres and Redis. Every response is checked against openapi.json.

use integration::TestEnv;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

async fn register(env: &TestEnv, email: &str) -> integration::Reply {
    env.call(
        "POST",
        "/register",
        None,
        Some(json!({"full_name": "Budi Santoso", "email": email, "password": PASSWORD})),
    )
    .await
}

async fn login(env: &TestEnv, email: &str, password: &str) -> integration::Reply {
    env.call(
        "POST",
        "/login",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
}

async fn refresh(env: &TestEnv, token: &str) -> integration::Reply {
    env.call(
        "POST",
        "/refresh",
        None,
        Some(json!({ "refresh_token": token })),
    )
    .await
}

async fn me(env: &TestEnv, token: &str) -> integration::Reply {
    env.call("GET", "/me", Some(token), None).await
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}"))
}

#[tokio::test]
async fn the_account_journey() {
    // No reuse interval: a second use of a rotated token is reuse at once.
    let env = TestEnv::start_with(&[("refresh_reuse_interval_secs", "0")]).await;
    let r = register(&env, "  Budi@Example.COM ").await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    assert_eq!(r.json, json!({"message": "User registered successfully"}));

    // The email was trimmed and lower-cased: any spelling signs in.
    let session = login(&env, "budi@example.com", PASSWORD).await;
    assert_eq!(session.status, 200, "{:?}", session.json);
    assert_eq!(session.json["user"]["email"], "budi@example.com");
    assert_eq!(session.json["user"]["role"], "customer");
    let access = str_of(&session.json, "token").to_string();
    let first = str_of(&session.json, "refresh_token").to_string();
    assert!(!access.starts_with("Bearer"), "tokens are returned bare");

    let r = me(&env, &access).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["full_name"], "Budi Santoso");
    assert_eq!(r.json["id"], session.json["user"]["id"]);

    // Rotation: a new pair whose access token works.
    let r = refresh(&env, &first).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let second = str_of(&r.json, "refresh_token").to_string();
    assert_ne!(second, first);
    assert_eq!(me(&env, str_of(&r.json, "token")).await.status, 200);
    let r = refresh(&env, &second).await;
    assert_eq!(r.status, 200);
    let third = str_of(&r.json, "refresh_token").to_string();

    // Reuse of an old token revokes the family, the newest token included.
    let r = refresh(&env, &first).await;
    assert_eq!(r.status, 401);
    assert!(r.error().contains("already used"), "{}", r.error());
    assert_eq!(refresh(&env, &third).await.status, 401);

    // A new sign-in is a new family; logout ends it.
    let session = login(&env, "BUDI@example.com", PASSWORD).await;
    assert_eq!(session.status, 200);
    let token = str_of(&session.json, "refresh_token").to_string();
    let r = env
        .call(
            "POST",
            "/logout",
            None,
            Some(json!({ "refresh_token": token })),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(refresh(&env, &token).await.status, 401);
    // Logging out twice, or with garbage, answers the same.
    for t in [token.as_str(), "garbage"] {
        let r = env
            .call("POST", "/logout", None, Some(json!({ "refresh_token": t })))
            .await;
        assert_eq!(r.status, 204);
    }

    // The log says who and what, never a password or a token.
    let log = env.stderr_of("accounts-api");
    for secret in [PASSWORD, &access, &first, &second, &third, &token] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
    assert!(log.contains("\"route\":\"/login\""));
    env.assert_clean();
}

#[tokio::test]
async fn two_tabs_refreshing_at_once_get_the_same_successor() {
    let env = TestEnv::start().await; // reuse interval: 10 s by default
    assert_eq!(register(&env, "tabs@example.com").await.status, 201);
    let session = login(&env, "tabs@example.com", PASSWORD).await;
    let token = str_of(&session.json, "refresh_token").to_string();
    let (a, b) = tokio::join!(refresh(&env, &token), refresh(&env, &token));
    assert_eq!(
        (a.status, b.status),
        (200, 200),
        "{:?} {:?}",
        a.json,
        b.json
    );
    assert_eq!(a.json["refresh_token"], b.json["refresh_token"]);
    // The successor is the family's live token.
    let next = str_of(&a.json, "refresh_token").to_string();
    assert_eq!(refresh(&env, &next).await.status, 200);
    env.assert_clean();
}

#[tokio::test]
async fn registration_rules() {
    let env = TestEnv::start().await;
    assert_eq!(register(&env, "dup@example.com").await.status, 201);
    let r = register(&env, "DUP@example.com").await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error(), "Email is already registered");

    for (body, why) in [
        (
            json!({"full_name": "A", "email": "a@example.com"}),
            "missing password",
        ),
        (
            json!({"full_name": "A", "email": "a@example.com", "password": 12345678}),
            "wrong type",
        ),
        (
            json!({"full_name": "A", "email": "not-an-email", "password": PASSWORD}),
            "bad email",
        ),
        (
            json!({"full_name": "A", "email": "a@example.com", "password": "short"}),
            "short password",
        ),
        (
            json!({"full_name": "", "email": "a@example.com", "password": PASSWORD}),
            "empty name",
        ),
        (
            json!({"full_name": "A\u{0}", "email": "a@example.com", "password": PASSWORD}),
            "NUL",
        ),
        (
            json!({"full_name": "A", "email": "a@example.com", "password": PASSWORD, "role": "admin"}),
            "extra field",
        ),
    ] {
        let r = env.call("POST", "/register", None, Some(body)).await;
        assert_eq!(r.status, 400, "{why}: {:?}", r.json);
        assert!(!r.error().contains(PASSWORD), "{why}");
    }
    let r = env
        .send(
            "POST",
            "/register",
            env.http
                .post(format!("{}/register", env.base))
                .header("content-type", "application/json")
                .body("{\"full_name\": "),
        )
        .await;
    assert_eq!(r.status, 400);

    // A concurrent double registration: one account, one 409, no 500.
    let (a, b) = tokio::join!(
        register(&env, "race@example.com"),
        register(&env, "race@example.com")
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    let db = env.db.client().await;
    let n: i64 = db
        .query_one(
            "SELECT count(*) FROM users WHERE email = 'race@example.com'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    // Stored hashes are argon2id at OWASP's parameters.
    let hash: String = db
        .query_one(
            "SELECT password_hash FROM users WHERE email = 'dup@example.com'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    env.assert_clean();
}

#[tokio::test]
async fn wrong_passwords_and_unknown_emails_look_alike() {
    let env = TestEnv::start().await;
    assert_eq!(register(&env, "known@example.com").await.status, 201);
    let wrong = login(&env, "known@example.com", "not the password").await;
    let unknown = login(&env, "nobody@example.com", "not the password").await;
    assert_eq!((wrong.status, unknown.status), (401, 401));
    assert_eq!(wrong.json, unknown.json);
    assert_eq!(wrong.error(), "Invalid email or password");
    env.assert_clean();
}

#[tokio::test]
async fn a_seed_bcrypt_hash_signs_in_and_is_replaced() {
    let env = TestEnv::start().await;
    let bcrypt = bcrypt::hash_with_salt("seed-password", 4, *b"0123456789abcdef")
        .unwrap()
        .format_for_version(bcrypt::Version::TwoA);
    let db = env.db.client().await;
    db.execute(
        "INSERT INTO users (full_name, email, password_hash) VALUES ('Seed', 'seed@example.com', $1)",
        &[&bcrypt],
    )
    .await
    .unwrap();
    assert_eq!(
        login(&env, "seed@example.com", "wrong-password")
            .await
            .status,
        401
    );
    async fn stored(db: &tokio_postgres::Client) -> String {
        db.query_one(
            "SELECT password_hash FROM users WHERE email = 'seed@example.com'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
    }
    assert_eq!(stored(&db).await, bcrypt, "a failed login changes nothing");
    assert_eq!(
        login(&env, "seed@example.com", "seed-password")
            .await
            .status,
        200
    );
    let rehashed = stored(&db).await;
    assert!(rehashed.starts_with("$argon2id$"), "{rehashed}");
    assert_eq!(
        login(&env, "seed@example.com", "seed-password")
            .await
            .status,
        200
    );
    env.assert_clean();
}

/// `admin_emails` promotes a proven address at sign-in (a later change of
/// the list takes effect at the next sign-in), and never an unproven one:
/// the proof itself (the mailed link) is account_links_http's.
#[tokio::test]
async fn admin_emails_promote_only_proven_addresses() {
    let env = TestEnv::start_with(&[("admin_emails", "boss@example.com, ops@example.com")]).await;
    assert_eq!(register(&env, "Boss@Example.com").await.status, 201);
    let session = login(&env, "boss@example.com", PASSWORD).await;
    assert_eq!(session.json["user"]["role"], "customer", "not proven yet");
    let r = env
        .call(
            "POST",
            "/product",
            Some(str_of(&session.json, "token")),
            Some(json!({"name": "No", "price": 1000, "stock": 1})),
        )
        .await;
    assert_eq!(r.status, 403);

    let db = env.db.client().await;
    db.execute(
        "UPDATE users SET email_verified_at = now() WHERE email = 'boss@example.com'",
        &[],
    )
    .await
    .unwrap();
    let session = login(&env, "boss@example.com", PASSWORD).await;
    assert_eq!(session.json["user"]["role"], "admin");
    // The promotion is stored and carried by refreshed tokens too.
    let r = refresh(&env, str_of(&session.json, "refresh_token")).await;
    let r = env
        .call(
            "POST",
            "/product",
            Some(str_of(&r.json, "token")),
            Some(json!({"name": "By the boss", "price": 1000, "stock": 1})),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    let role: String = db
        .query_one(
            "SELECT role FROM users WHERE email = 'boss@example.com'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(role, "admin");

    // A proven address not on the list stays a customer.
    assert_eq!(register(&env, "later@example.com").await.status, 201);
    db.execute(
        "UPDATE users SET email_verified_at = now() WHERE email = 'later@example.com'",
        &[],
    )
    .await
    .unwrap();
    let session = login(&env, "later@example.com", PASSWORD).await;
    assert_eq!(session.json["user"]["role"], "customer");
    env.assert_clean();
}

#[tokio::test]
async fn a_burst_of_25_product_writes_admits_exactly_20() {
    // 20 per user; a refill of 1/s so that the burst (well under a second
    // here) cannot earn a token back.
    let env = TestEnv::start_with(&[("rate_limit", "20/1")]).await;
    let admin = TestEnv::admin();
    let calls = (0..25).map(|i| {
        env.call(
            "POST",
            "/product",
            Some(&admin),
            Some(json!({"name": format!("burst {i}"), "price": 1, "stock": 1})),
        )
    });
    let replies = futures::future::join_all(calls).await;
    let admitted = replies.iter().filter(|r| r.status == 201).count();
    let refused = replies.iter().filter(|r| r.status == 429).count();
    assert_eq!((admitted, refused), (20, 5));
    println!("burst of 25 concurrent POST /product: {admitted} admitted, {refused} refused");
    env.assert_clean();
}

mod forged {
    use super::*;
    use jwt_simple::prelude::*;

    #[derive(Serialize, Deserialize)]
    struct Access {
        role: String,
        typ: String,
    }

    fn claims() -> JWTClaims<Access> {
        Claims::with_custom_claims(
            Access {
                role: "admin".into(),
                typ: "access".into(),
            },
            Duration::from_secs(900),
        )
        .with_issuer(auth_core::ISSUER)
        .with_audience(auth_core::AUDIENCE)
        .with_subject(999_999)
    }

    fn sign(claims: JWTClaims<Access>) -> String {
        HS256Key::from_bytes(integration::JWT_SECRET.as_bytes())
            .authenticate(claims)
            .unwrap()
    }

    #[tokio::test]
    async fn every_unacceptable_token_is_a_401() {
        let env = TestEnv::start().await;
        assert_eq!(register(&env, "real@example.com").await.status, 201);
        let session = login(&env, "real@example.com", PASSWORD).await;
        let access = str_of(&session.json, "token").to_string();
        let refresh_token = str_of(&session.json, "refresh_token").to_string();
        assert_eq!(me(&env, &access).await.status, 200);
        assert_eq!(
            me(&env, &sign(claims())).await.status,
            404,
            "the fixture is a valid token (of a user that does not exist)"
        );

        let (head, rest) = access.split_once('.').unwrap();
        let (payload, signature) = rest.split_once('.').unwrap();
        let mut tampered = signature.to_string();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        let mut expired = claims();
        let past = Clock::now_since_epoch() - Duration::from_secs(3600);
        expired.issued_at = Some(past);
        expired.invalid_before = Some(past);
        expired.expires_at = Some(past + Duration::from_secs(60));
        let mut early = claims();
        early.invalid_before = Some(Clock::now_since_epoch() + Duration::from_secs(600));
        let cases = [
            ("tampered signature", format!("{head}.{payload}.{tampered}")),
            (
                "alg none",
                format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}."),
            ),
            (
                "RS256 header",
                format!("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.{payload}.{signature}"),
            ),
            ("expired", sign(expired)),
            ("not yet valid", sign(early)),
            (
                "wrong audience",
                sign(claims().with_audience("another-api")),
            ),
            ("refresh token as access token", refresh_token.clone()),
            ("garbage", "not-a-token".to_string()),
        ];
        for (why, token) in cases {
            let r = me(&env, &token).await;
            assert_eq!(r.status, 401, "{why}: {:?}", r.json);
            assert_eq!(r.error(), "Invalid or expired token", "{why}");
        }
        let r = env.call("GET", "/me", None, None).await;
        assert_eq!((r.status, r.error()), (401, "Missing bearer token"));
        // Nor is an access token a refresh token.
        let r = refresh(&env, &access).await;
        assert_eq!(r.status, 401);
        // The refresh token still works: nothing above touched it.
        assert_eq!(refresh(&env, &refresh_token).await.status, 200);
        env.assert_clean();
    }
}

#[tokio::test]
async fn refresh_tokens_and_sessions_end() {
    // A refresh token lives refresh_token_ttl_secs after its rotation.
    let env = TestEnv::start_with(&[("refresh_token_ttl_secs", "2")]).await;
    assert_eq!(register(&env, "brief@example.com").await.status, 201);
    let session = login(&env, "brief@example.com", PASSWORD).await;
    let r = refresh(&env, str_of(&session.json, "refresh_token")).await;
    assert_eq!(r.status, 200, "fresh: {:?}", r.json);
    let newest = str_of(&r.json, "refresh_token").to_string();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(refresh(&env, &newest).await.status, 401, "expired token");
    env.assert_clean();
    drop(env);

    // A session (family) ends session_max_age_secs after sign-in, however
    // recently its token was rotated.
    let env = TestEnv::start_with(&[("session_max_age_secs", "4")]).await;
    assert_eq!(register(&env, "brief@example.com").await.status, 201);
    let session = login(&env, "brief@example.com", PASSWORD).await;
    let mut token = str_of(&session.json, "refresh_token").to_string();
    for _ in 0..2 {
        let r = refresh(&env, &token).await;
        assert_eq!(r.status, 200, "within the session: {:?}", r.json);
        token = str_of(&r.json, "refresh_token").to_string();
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(refresh(&env, &token).await.status, 401, "session over");
    env.assert_clean();
}
