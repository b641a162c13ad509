//! The storefront in a real browser (Debian's Chromium driven by
//! playwright-core, `storefront/e2e/journey.mjs`) against the whole platform
//! started here: the app serving the storefront and the API, the workers,
//! the relay (Kafka off: redelivery) and the Midtrans sandbox whose payment
//! page the browser clicks, the mail worker and the local Resend whose mails
//! the script reads (the verify and reset links). The script drives the
//! pages; this test checks what they did against Postgres and the mailbox.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fake_oauth::{Account, App, FakeOAuth};
use integration::shop::{Relay, Shop};
use mail_sink::Sink;
use serde_json::{json, Value};

const ADMIN_EMAIL: &str = "admin@storefront.test";
const ADMIN_PASSWORD: &str = "storefront admin password";
const OAUTH_NAME: &str = "Octo Shopper";
const RESEND_KEY: &str = "re_storefront_browser_key";

fn chromium() -> PathBuf {
    let path =
        PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    assert!(
        path.exists(),
        "{} is missing: `apt-get install chromium` (.ci/run does)",
        path.display()
    );
    path
}

#[tokio::test]
async fn a_visitor_buys_pays_and_a_denied_payment_gives_the_stock_back() {
    let chromium = chromium();
    let root = integration::workspace_root();
    assert!(
        root.join("storefront/node_modules/playwright-core")
            .exists(),
        "storefront/node_modules is missing: run `cargo xtask build`"
    );
    // "Sign in with GitHub" through the local provider, at its real paths.
    let github = FakeOAuth::start().await;
    // The visitor's mailbox. The links point at the app under test: its
    // storefront_url defaults to its own base URL (TestEnv::start_with).
    let sink = Sink::start(mail_sink::Config {
        api_key: RESEND_KEY.into(),
        listen: "127.0.0.1:0".parse().unwrap(),
        announce: false,
    })
    .await
    .unwrap();
    let shop = Shop::start_with(&[
        ("admin_emails", ADMIN_EMAIL),
        ("github_client_id", "storefront-client"),
        ("github_client_secret", "storefront-secret"),
        ("github_auth_base_url", &github.base),
        ("github_api_base_url", &github.base),
        ("resend_api_key", RESEND_KEY),
        ("resend_api_base_url", &sink.base),
        ("mail_from", "Shop <shop@mail.dev.test>"),
        (
            "mail_link_secret",
            "storefront-browser-link-secret-0123456789",
        ),
    ])
    .await;
    let _mail = shop.env.start_mail_worker().await;
    github.register(
        "github",
        App {
            client_id: "storefront-client".into(),
            client_secret: "storefront-secret".into(),
            redirect_uri: format!("{}/app/oauth/github/callback", shop.env.base),
        },
    );
    github.sign_in_as(
        "github",
        Account {
            subject: "4242".into(),
            name: OAUTH_NAME.into(),
            email: Some("octo@storefront.test".into()),
            email_verified: true,
        },
    );
    // No maintenance sweep: it would ask Midtrans again for the refund the
    // journey leaves owed for the anomalies page's button.
    let relay = Relay::start_with(&shop.env, &["--maintenance-every-secs", "0"]);
    let r = shop
        .env
        .call(
            "POST",
            "/register",
            None,
            Some(json!({"full_name": "Shop Admin", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    // The admin's address counts as proven (the mailed link is
    // account_links_http's journey), so its sign-in grants the role.
    shop.env
        .db
        .client()
        .await
        .execute(
            "UPDATE users SET email_verified_at = now() WHERE email = $1",
            &[&ADMIN_EMAIL],
        )
        .await
        .unwrap();

    // Midtrans is down for the back office's first refund call (nothing
    // else in the journey refunds): the refund is owed until the anomalies
    // page's button asks again.
    shop.midtrans.fail_next_refunds(1);
    let screenshots = root.join("target/storefront-screenshots");
    let _ = std::fs::remove_dir_all(&screenshots);
    std::fs::create_dir_all(&screenshots).unwrap();
    let child = tokio::process::Command::new("node")
        .arg("e2e/journey.mjs")
        .current_dir(root.join("storefront"))
        .env("STOREFRONT_URL", &shop.env.base)
        .env("ADMIN_EMAIL", ADMIN_EMAIL)
        .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("SCREENSHOT_DIR", &screenshots)
        .env("CHROMIUM", &chromium)
        .env("OAUTH_PROVIDER", "github")
        .env("OAUTH_NAME", OAUTH_NAME)
        .env("MAIL_SINK", &sink.base)
        .env("E2E_REFUND_OUTAGE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (Node.js 20 is on the machine)");
    let out = tokio::time::timeout(Duration::from_secs(300), child.wait_with_output())
        .await
        .expect("the browser journey ends within 5 minutes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "the browser journey failed: {}",
        out.status
    );
    let summary: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .expect("a JSON summary line");
    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(summary["oauth"], "github", "{summary}");
    // A callback link another browser started signs nobody in (login CSRF).
    assert_eq!(summary["login_csrf_refused"], true, "{summary}");
    assert!(github.refusals().is_empty(), "{:?}", github.refusals());
    assert_eq!(
        shop.count(
            "SELECT count(*) FROM oauth_identities WHERE provider = 'github' AND subject = '4242'"
        )
        .await,
        1
    );

    // What the pages did, as Postgres has it.
    let paid = shop
        .count("SELECT count(*) FROM orders WHERE status = 'paid'")
        .await;
    let failed = shop
        .count("SELECT count(*) FROM orders WHERE status = 'failed'")
        .await;
    assert!(paid >= 1 && failed >= 1, "paid {paid}, failed {failed}");
    assert_eq!(
        shop.count("SELECT count(*) FROM products WHERE stock < 0")
            .await,
        0
    );
    // A failed order's reservation went back exactly once.
    assert_eq!(
        shop.count(
            "SELECT count(*) FROM orders WHERE status = 'failed' AND stock_released_at IS NULL"
        )
        .await,
        0
    );
    // The double-clicked checkout: no two orders of one buyer with the same
    // items within a second of each other.
    assert_eq!(
        shop.count(
            "SELECT count(*) FROM orders a JOIN orders b ON a.user_id = b.user_id AND a.id < b.id \
             AND b.created_at - a.created_at < interval '1 second' AND a.total_price = b.total_price"
        )
        .await,
        0
    );
    // The order cancelled on its page: cancelled, its stock released once,
    // its Snap transaction closed at Midtrans (it can no longer be paid).
    let cancelled = summary["orders"]["ids"]["cancelled"]
        .as_i64()
        .unwrap_or_else(|| panic!("no cancelled order in {summary}"));
    assert_eq!(
        shop.count(&format!(
            "SELECT count(*) FROM orders WHERE id = {cancelled} AND status = 'cancelled' \
             AND stock_released_at IS NOT NULL"
        ))
        .await,
        1,
        "{summary}"
    );
    let attempts: Vec<String> = shop
        .env
        .db
        .client()
        .await
        .query(
            "SELECT a.gateway_order_id FROM payment_attempts a JOIN payments p ON p.id = a.payment_id \
             WHERE p.order_id = $1",
            &[&cancelled],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!attempts.is_empty(), "the checkout started no payment");
    for attempt in &attempts {
        assert_eq!(
            shop.midtrans.status_of(attempt).as_deref(),
            Some("expire"),
            "{attempt}: {summary}"
        );
    }
    // Every order has exactly one payment (the worker, redelivered if need be).
    shop.wait_for_count(
        "SELECT count(*) FROM orders o WHERE (SELECT count(*) FROM payments p WHERE p.order_id = o.id) <> 1",
        0,
    )
    .await;

    // Sign-up, verify, forgot, reset: the visitor's account and mailbox.
    let email = summary["account"]["email"]
        .as_str()
        .unwrap_or_else(|| panic!("no account email in {summary}"))
        .to_string();
    assert_eq!(summary["account"]["verified"], true, "{summary}");
    assert_eq!(summary["account"]["other_session_ended"], true, "{summary}");
    let db = shop.env.db.client().await;
    let count = |sql: String| {
        let (db, email) = (&db, &email);
        async move { count_for(db, &sql, email).await }
    };
    assert_eq!(
        count(
            "SELECT count(*) FROM users WHERE email = $1 AND email_verified_at IS NOT NULL".into()
        )
        .await,
        1,
        "the verify link proved {email}"
    );
    // The reset: its link used once; every session started before it ended
    // (the signed-out browser's by its logout, the second browser's by the
    // reset itself); the one signed in with the new password lives.
    assert_eq!(
        count(
            "SELECT count(*) FROM account_tokens t JOIN users u ON u.id = t.user_id \
             WHERE u.email = $1 AND t.purpose = 'reset_password' AND t.used_at IS NOT NULL"
                .into()
        )
        .await,
        1
    );
    let sessions = |which: &str| {
        count(format!(
            "SELECT count(*) FROM refresh_token_families f JOIN users u ON u.id = f.user_id \
             CROSS JOIN LATERAL (SELECT max(t.used_at) AS at FROM account_tokens t \
               WHERE t.user_id = u.id AND t.purpose = 'reset_password') reset \
             WHERE u.email = $1 AND {which}"
        ))
    };
    let before = sessions("f.created_at < reset.at").await;
    assert!(
        before >= 2,
        "{before} sessions before the reset, expected both browsers'"
    );
    assert_eq!(
        sessions("f.created_at < reset.at AND f.revoked_at IS NULL").await,
        0,
        "a session from before the reset survived it"
    );
    assert!(
        sessions("f.revoked_at = reset.at").await >= 1,
        "the reset itself revoked no session (the second browser's)"
    );
    assert!(
        sessions("f.created_at > reset.at AND f.revoked_at IS NULL").await >= 1,
        "no live session with the new password"
    );
    // Exactly one mail of each kind (password_changed may still be on its way).
    let mails = |kind: &str| {
        sink.messages()
            .iter()
            .filter(|m| m.is_to(&email) && m.kind.as_deref() == Some(kind))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while mails("password_changed") == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for kind in ["verify_email", "reset_password", "password_changed"] {
        assert_eq!(mails(kind), 1, "{kind} mails to {email}");
    }

    // The back office refunded the paid order from its page (owed while
    // Midtrans was down, asked again from the anomalies page): two actions,
    // two audit rows, one refund at Midtrans.
    assert_eq!(summary["admin"]["audited"], true, "{summary}");
    assert_eq!(summary["admin"]["refund"]["refund"], "owed", "{summary}");
    assert_eq!(summary["admin"]["audit"]["refunds"], 2, "{summary}");
    assert_eq!(summary["admin"]["audit"]["role_changes"], 2, "{summary}");
    // The operator's cancel of the order the shopper left unpaid: one row.
    assert_eq!(summary["admin"]["audit"]["cancels"], 1, "{summary}");
    let unpaid = summary["orders"]["ids"]["left_unpaid"]
        .as_i64()
        .unwrap_or_else(|| panic!("no unpaid order in {summary}"));
    assert_eq!(
        shop.count(&format!(
            "SELECT count(*) FROM orders WHERE id = {unpaid} AND status = 'cancelled'"
        ))
        .await,
        1
    );
    let payment = summary["admin"]["payment_id"]
        .as_i64()
        .expect("admin.payment_id");
    let refunded = db
        .query_one(
            "SELECT count(*) FROM payments WHERE id = $1 AND status = 'refunded'",
            &[&payment],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(refunded, 1, "{summary}");
    let audited = db
        .query_one(
            "SELECT count(*) FROM admin_audit WHERE action = 'payment.refund' AND target_id = $1",
            &[&payment],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(audited, 2, "{summary}");
    let gateway_id: String = db
        .query_one(
            "SELECT gateway_order_id FROM payments WHERE id = $1",
            &[&payment],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(shop.midtrans.refunds(&gateway_id).len(), 1, "{summary}");
    let shopper = summary["admin"]["shopper_id"]
        .as_i64()
        .expect("admin.shopper_id");
    let roles: Vec<(String, String)> = db
        .query(
            "SELECT before ->> 'role', after ->> 'role' FROM admin_audit \
             WHERE action = 'user.role' AND target_id = $1 ORDER BY id",
            &[&shopper],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        roles,
        [
            ("customer".to_string(), "admin".to_string()),
            ("admin".to_string(), "customer".to_string())
        ],
        "{summary}"
    );

    for name in [
        "products",
        "cart",
        "order-paid",
        "order-cancelled",
        "admin",
        "oauth-signed-in",
        "oauth-forged-callback",
        "verify-banner",
        "verify-email",
        "forgot-password",
        "reset-password",
        "reset-signed-out",
        "admin-orders",
        "admin-refund-owed",
        "admin-order-detail",
        "admin-anomalies",
        "admin-users",
        "admin-audit",
    ] {
        let png = screenshots.join(format!("{name}.png"));
        assert!(png.exists(), "{} was not saved", png.display());
    }
    relay.stop().await;
    shop.env.assert_clean();
}

/// `sql` (one bigint, `$1` the address) for `email`.
async fn count_for(db: &tokio_postgres::Client, sql: &str, email: &str) -> i64 {
    db.query_one(sql, &[&email]).await.unwrap().get(0)
}
