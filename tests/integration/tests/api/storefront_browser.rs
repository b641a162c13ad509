//! The storefront in a real browser (Debian's Chromium driven by
//! playwright-core, `storefront/e2e/journey.mjs`) against the whole platform
//! started here: the app serving the storefront and the API, the workers,
//! the relay (Kafka off: redelivery) and the Midtrans sandbox whose payment
//! page the browser clicks. The script drives the pages; this test checks
//! what they did against Postgres.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fake_oauth::{Account, App, FakeOAuth};
use integration::shop::{Relay, Shop};
use serde_json::{json, Value};

const ADMIN_EMAIL: &str = "admin@storefront.test";
const ADMIN_PASSWORD: &str = "storefront admin password";
const OAUTH_NAME: &str = "Octo Shopper";

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
    let shop = Shop::start_with(&[
        ("admin_emails", ADMIN_EMAIL),
        ("github_client_id", "storefront-client"),
        ("github_client_secret", "storefront-secret"),
        ("github_auth_base_url", &github.base),
        ("github_api_base_url", &github.base),
    ])
    .await;
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
    let relay = Relay::start(&shop.env);
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
    // Every order has exactly one payment (the worker, redelivered if need be).
    shop.wait_for_count(
        "SELECT count(*) FROM orders o WHERE (SELECT count(*) FROM payments p WHERE p.order_id = o.id) <> 1",
        0,
    )
    .await;
    for name in ["products", "cart", "order-paid", "admin", "oauth-signed-in"] {
        let png = screenshots.join(format!("{name}.png"));
        assert!(png.exists(), "{} was not saved", png.display());
    }
    relay.stop().await;
    shop.env.assert_clean();
}
