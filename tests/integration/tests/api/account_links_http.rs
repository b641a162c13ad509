//! Links mailed to prove an address or reset a password, read from the local
//! Resend (`tools/mail-sink`) as a user reads their mailbox
//! (docs/decisions/0005 §1, §4a). Real Postgres and Redis; the mail worker
//! runs as its own "process".

use std::time::{Duration, Instant};

use integration::{redis_server, TestEnv, Workers};
use mail_sink::{Config, Sink};
use serde_json::{json, Value};

const KEY: &str = "re_links_key";
const PASSWORD: &str = "correct horse battery";
const BAD_LINK: &str = "This link is invalid, expired or already used";

struct Shop {
    env: TestEnv,
    sink: Sink,
    _mail: Workers,
}

async fn start(extra: &[(&str, &str)]) -> Shop {
    let sink = Sink::start(Config {
        api_key: KEY.into(),
        listen: "127.0.0.1:0".parse().unwrap(),
        announce: false,
    })
    .await
    .unwrap();
    let mut vars = vec![
        ("resend_api_key", KEY),
        ("resend_api_base_url", sink.base.as_str()),
        ("mail_from", "Shop <shop@mail.dev.test>"),
        ("mail_link_secret", "links-test-secret-0123456789abcdef0123"),
        ("storefront_url", "http://shop.test"),
    ];
    vars.extend_from_slice(extra);
    let env = TestEnv::start_with(&vars).await;
    let mail = env.start_mail_worker().await;
    Shop {
        env,
        sink,
        _mail: mail,
    }
}

impl Shop {
    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> integration::Reply {
        self.env.call("POST", path, token, Some(body)).await
    }

    async fn register(&self, email: &str) -> integration::Reply {
        self.post(
            "/register",
            None,
            json!({"full_name": "Sari", "email": email, "password": PASSWORD}),
        )
        .await
    }

    async fn login(&self, email: &str, password: &str) -> integration::Reply {
        self.post(
            "/login",
            None,
            json!({"email": email, "password": password}),
        )
        .await
    }

    /// The token of the `n`th (from 0) `kind` link mailed to `to`.
    async fn link_token(&self, to: &str, kind: &str, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let links: Vec<String> = self
                .sink
                .messages()
                .into_iter()
                .filter(|m| m.to.iter().any(|t| t == to) && m.kind.as_deref() == Some(kind))
                .filter_map(|m| m.links.into_iter().find(|l| l.contains("#token=")))
                .collect();
            if let Some(link) = links.get(n) {
                let page = if kind == "verify_email" {
                    "verify-email"
                } else {
                    "reset-password"
                };
                assert!(
                    link.starts_with(&format!("http://shop.test/app/{page}#token=")),
                    "{link}"
                );
                return link.split_once("#token=").unwrap().1.to_string();
            }
            assert!(Instant::now() < deadline, "no {kind} mail {n} to {to}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn mails(&self, to: &str, kind: &str) -> usize {
        self.sink
            .messages()
            .iter()
            .filter(|m| m.to.iter().any(|t| t == to) && m.kind.as_deref() == Some(kind))
            .count()
    }

    async fn wait_mails(&self, to: &str, kind: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.mails(to, kind) < n {
            assert!(Instant::now() < deadline, "{kind} to {to}: fewer than {n}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}"))
}

/// The admin squat: whoever registers an `admin_emails` address first gets
/// nothing; the address's owner takes the account back with "forgot
/// password" and becomes the administrator; the squatter's sessions end.
/// The links never leave the mail: not in the outbox, Redis or the logs.
#[tokio::test]
async fn the_admin_role_needs_a_proven_address_and_the_owner_takes_it_back() {
    let shop = start(&[("admin_emails", "boss@example.com")]).await;
    let boss = "boss@example.com";
    assert_eq!(shop.register(boss).await.status, 201);
    let squatter = shop.login(boss, PASSWORD).await;
    assert_eq!(squatter.status, 200);
    assert_eq!(squatter.json["user"]["role"], "customer");
    assert_eq!(squatter.json["user"]["email_verified"], false);
    let r = shop
        .post(
            "/product",
            Some(str_of(&squatter.json, "token")),
            json!({"name": "Mine", "price": 1, "stock": 1}),
        )
        .await;
    assert_eq!(r.status, 403, "an unproven address is no administrator");
    let verify_token = shop.link_token(boss, "verify_email", 0).await;

    // The owner asks for a reset: the same answer as for nobody.
    let known = shop
        .post("/password/forgot", None, json!({"email": boss}))
        .await;
    let unknown = shop
        .post(
            "/password/forgot",
            None,
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!((known.status, unknown.status), (202, 202));
    assert_eq!(known.json, unknown.json);
    let reset = shop.link_token(boss, "reset_password", 0).await;
    // A verify link is no reset link; a changed character is no link.
    for bad in [verify_token.clone(), flip(&reset), "short".to_string()] {
        let r = shop
            .post(
                "/password/reset",
                None,
                json!({"token": bad, "password": "the owner's new one"}),
            )
            .await;
        assert_eq!((r.status, r.error()), (400, BAD_LINK));
    }
    let r = shop
        .post(
            "/password/reset",
            None,
            json!({"token": reset, "password": "the owner's new one"}),
        )
        .await;
    assert_eq!(r.status, 204, "{:?}", r.json);
    let again = shop
        .post(
            "/password/reset",
            None,
            json!({"token": reset, "password": "another new one"}),
        )
        .await;
    assert_eq!((again.status, again.error()), (400, BAD_LINK), "single use");

    // An expired link is refused like any other bad one (the clock moved
    // past the one-a-minute cap first).
    shop.env
        .db
        .client()
        .await
        .execute(
            "UPDATE account_tokens SET created_at = created_at - interval '2 minutes'",
            &[],
        )
        .await
        .unwrap();
    let r = shop
        .post("/password/forgot", None, json!({"email": boss}))
        .await;
    assert_eq!(r.status, 202);
    let late = shop.link_token(boss, "reset_password", 1).await;
    shop.env
        .db
        .client()
        .await
        .execute(
            "UPDATE account_tokens SET expires_at = now() AT TIME ZONE 'UTC' - interval '1 second' \
             WHERE used_at IS NULL",
            &[],
        )
        .await
        .unwrap();
    let r = shop
        .post(
            "/password/reset",
            None,
            json!({"token": late, "password": "too late a password"}),
        )
        .await;
    assert_eq!((r.status, r.error()), (400, BAD_LINK), "expired");

    // The squatter is out; the owner is the administrator.
    assert_eq!(shop.login(boss, PASSWORD).await.status, 401);
    let r = shop
        .post(
            "/refresh",
            None,
            json!({"refresh_token": str_of(&squatter.json, "refresh_token")}),
        )
        .await;
    assert_eq!(r.status, 401, "every session ended");
    let owner = shop.login(boss, "the owner's new one").await;
    assert_eq!(owner.status, 200);
    assert_eq!(owner.json["user"]["role"], "admin");
    assert_eq!(owner.json["user"]["email_verified"], true);
    shop.wait_mails(boss, "password_changed", 1).await;
    assert_eq!(shop.mails("nobody@example.com", "reset_password"), 0);

    // The plaintext links exist only in the mails.
    let db = shop.env.db.client().await;
    let stored: Vec<String> = db
        .query(
            "SELECT payload::text FROM outbox UNION ALL \
             SELECT coalesce(token_hash, '') FROM account_tokens UNION ALL \
             SELECT row_to_json(m)::text FROM mail_deliveries m",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut redis = redis_server::client(&shop.env.redis);
    let keys: Vec<String> = redis::Commands::scan(&mut redis)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let logs = ["accounts-api", "mail-worker"]
        .map(|c| shop.env.stderr_of(c))
        .join("\n");
    for token in [&verify_token, &reset] {
        assert!(!stored.iter().any(|s| s.contains(token.as_str())));
        assert!(!keys.iter().any(|k| k.contains(token.as_str())));
        assert!(!logs.contains(token.as_str()));
        assert!(!logs.contains(boss), "no address in the logs");
    }
}

/// Verify, resend, change: each link once, the caps, the sessions.
#[tokio::test]
async fn verify_resend_and_change_password() {
    let shop = start(&[]).await;
    let ana = "ana@example.com";
    assert_eq!(shop.register(ana).await.status, 201);
    let session = shop.login(ana, PASSWORD).await;
    let access = str_of(&session.json, "token").to_string();
    // A second link within the minute is refused (the first is on its way).
    let r = shop
        .post("/verify-email/resend", Some(&access), json!({}))
        .await;
    assert_eq!(r.status, 429, "{:?}", r.json);
    assert!(r.header("retry-after").is_some());

    let token = shop.link_token(ana, "verify_email", 0).await;
    let r = shop
        .post("/verify-email", None, json!({"token": token}))
        .await;
    assert_eq!(r.status, 204, "{:?}", r.json);
    let me = shop.env.call("GET", "/me", Some(&access), None).await;
    assert_eq!(me.json["email_verified"], true);
    let r = shop
        .post("/verify-email", None, json!({"token": token}))
        .await;
    assert_eq!((r.status, r.error()), (400, BAD_LINK), "single use");
    let r = shop
        .post("/verify-email/resend", Some(&access), json!({}))
        .await;
    assert_eq!(r.status, 409);
    for bad in [
        json!({}),
        json!({"token": 5}),
        json!({"token": "x", "more": 1}),
    ] {
        assert_eq!(shop.post("/verify-email", None, bad).await.status, 400);
    }

    // Change: the current password is checked; every other session ends.
    let other = shop.login(ana, PASSWORD).await;
    let change = |current: &str| {
        shop.env.call(
            "PUT",
            "/me/password",
            Some(&access),
            Some(json!({"current_password": current, "new_password": "a brand new password"})),
        )
    };
    assert_eq!(change("wrong guess").await.status, 403);
    let r = change(PASSWORD).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let fresh = str_of(&r.json, "refresh_token").to_string();
    for old in [&session, &other] {
        let r = shop
            .post(
                "/refresh",
                None,
                json!({"refresh_token": str_of(&old.json, "refresh_token")}),
            )
            .await;
        assert_eq!(r.status, 401);
    }
    let r = shop
        .post("/refresh", None, json!({"refresh_token": fresh}))
        .await;
    assert_eq!(r.status, 200, "the caller's new session works");
    assert_eq!(shop.login(ana, "a brand new password").await.status, 200);
    shop.wait_mails(ana, "password_changed", 1).await;
    let r = shop
        .env
        .call(
            "PUT",
            "/me/password",
            None,
            Some(json!({"current_password": "x", "new_password": "a brand new password"})),
        )
        .await;
    assert_eq!(r.status, 401);
    shop.env.assert_clean();
}

/// Strangers guessing from many addresses empty the account's failure
/// bucket, so a new address is refused even with the right password; a
/// reset from that address proves it is the owner's, and it may sign in.
#[tokio::test]
async fn a_reset_lets_its_address_past_the_account_ceiling() {
    let shop = start(&[
        ("trusted_proxy_hops", "1"),
        ("login_account_failure_rate_limit", "3/0.001"),
    ])
    .await;
    let env = &shop.env;
    let from = |address: &str, path: &str, body: Value| {
        let req = env
            .http
            .post(format!("{}{path}", env.base))
            .header("x-forwarded-for", address)
            .header("content-type", "application/json")
            .body(body.to_string());
        let path = path.to_string();
        async move { env.send("POST", &path, req).await }
    };
    let owner = "owner@example.com";
    assert_eq!(shop.register(owner).await.status, 201);
    for i in 1..=3 {
        let r = from(
            &format!("203.0.113.{i}"),
            "/login",
            json!({"email": owner, "password": "guess"}),
        )
        .await;
        assert_eq!(r.status, 401);
    }
    let phone = "198.51.100.9";
    let login = json!({"email": owner, "password": "the owner's new one"});
    let r = from(
        phone,
        "/login",
        json!({"email": owner, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, 429, "a new address meets the ceiling");
    assert_eq!(
        from(phone, "/password/forgot", json!({"email": owner}))
            .await
            .status,
        202
    );
    let token = shop.link_token(owner, "reset_password", 0).await;
    let r = from(
        phone,
        "/password/reset",
        json!({"token": token, "password": "the owner's new one"}),
    )
    .await;
    assert_eq!(r.status, 204);
    let r = from(phone, "/login", login.clone()).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    // Another new address still meets the ceiling.
    let r = from("198.51.100.10", "/login", login).await;
    assert_eq!(r.status, 429);
}

/// A different last character (still base64url).
fn flip(token: &str) -> String {
    let mut t = token.to_string();
    let last = t.pop().unwrap();
    t.push(if last == 'A' { 'Q' } else { 'A' });
    t
}
