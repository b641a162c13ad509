//! The cost budget of every route: the host calls each may make on its
//! common path, counted exactly by the project host (never timed). On Spin
//! 3.6.3 these calls are what a request costs (spin-facts.md: an
//! application-variable read ≈ 80–100 µs, each unbuffered log write a host
//! call, each Redis open a TCP connection). Every route of the API table
//! (`edge::route`) must have a row; a change that adds a host call
//! changes this table, on purpose.

use std::collections::BTreeSet;
use std::fmt;

use integration::TestEnv;
use platform_host::StatsSnapshot;
use serde_json::json;

/// The counters a budget fixes, per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cost {
    /// Application-variable reads (`{{ v }}` templates: Spin's providers run).
    var_app: u64,
    /// Literal component-variable reads.
    var_lit: u64,
    /// Guest stdout/stderr writes.
    log: u64,
    pg_conn: u64,
    pg_stmt: u64,
    redis_conn: u64,
    redis_cmd: u64,
    http: u64,
    /// Key-value calls (`Store::open`, `get`): no TCP connect on Spin.
    kv: u64,
    /// Component instances (one per request; composed services inside it).
    inst: u64,
}

impl From<StatsSnapshot> for Cost {
    fn from(s: StatsSnapshot) -> Cost {
        Cost {
            var_app: s.variables_app,
            var_lit: s.variables_literal,
            log: s.stdio_writes,
            pg_conn: s.pg_connections,
            pg_stmt: s.pg_statements,
            redis_conn: s.redis_connections,
            redis_cmd: s.redis_commands,
            http: s.outbound_http,
            kv: s.key_value_calls,
            inst: s.instances,
        }
    }
}

impl fmt::Display for Cost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>5} {:>5} {:>4} {:>7} {:>7} {:>10} {:>9} {:>4} {:>3} {:>4}",
            self.var_app,
            self.var_lit,
            self.log,
            self.pg_conn,
            self.pg_stmt,
            self.redis_conn,
            self.redis_cmd,
            self.http,
            self.kv,
            self.inst
        )
    }
}

/// `cost(var_app, log, pg (conn, stmt), redis (conn, cmd))`: one instance,
/// no literal variable, no outbound HTTP unless a row says so.
const fn cost(var_app: u64, log: u64, pg: (u64, u64), redis: (u64, u64)) -> Cost {
    Cost {
        var_app,
        var_lit: 0,
        log,
        pg_conn: pg.0,
        pg_stmt: pg.1,
        redis_conn: redis.0,
        redis_cmd: redis.1,
        http: 0,
        kv: 0,
        inst: 1,
    }
}

/// The budget table: (method, route template, case, cost).
const BUDGETS: &[(&str, &str, &str, Cost)] = &[
    ("GET", "/health", "", cost(0, 1, (0, 0), (0, 0))),
    (
        "GET",
        "/health",
        "with Origin (CORS policy read)",
        cost(1, 1, (0, 0), (0, 0)),
    ),
    ("GET", "/health/ready", "", cost(2, 1, (1, 1), (1, 1))),
    ("GET", "/openapi.json", "", cost(0, 1, (0, 0), (0, 0))),
    (
        "GET",
        "(no route)",
        "unknown path, 404",
        cost(0, 1, (0, 0), (0, 0)),
    ),
    ("GET", "/product", "cached page", cost(2, 1, (0, 0), (1, 1))),
    (
        "GET",
        "/product",
        "uncached page",
        cost(3, 1, (1, 1), (1, 2)),
    ),
    (
        "GET",
        "/product",
        "past the last page",
        cost(2, 1, (0, 0), (1, 1)),
    ),
    // Edge: jwt_secret, rate_limit (the bucket, passed to the catalog);
    // catalog: redis_url, the token taken, database_url, the insert, the
    // write-through on the same connection (docs/architecture.md).
    ("POST", "/product", "", cost(4, 1, (1, 1), (1, 2))),
    // A hit: the key-value store's open and get, no variable, no TCP
    // connect. A miss: + database_url, redis_url for the fill (SET NX).
    (
        "GET",
        "/product/{id}",
        "cached",
        Cost {
            kv: 2,
            ..cost(0, 1, (0, 0), (0, 0))
        },
    ),
    (
        "GET",
        "/product/{id}",
        "uncached",
        Cost {
            kv: 2,
            ..cost(2, 1, (1, 1), (1, 1))
        },
    ),
    (
        "GET",
        "/product/{id}",
        "malformed id, 400",
        cost(0, 1, (0, 0), (0, 0)),
    ),
    // The entry (newer wins) and the list version: one script call.
    ("PUT", "/product/{id}", "", cost(3, 1, (1, 1), (1, 1))),
    ("DELETE", "/product/{id}", "", cost(3, 1, (1, 1), (1, 2))),
    (
        "OPTIONS",
        "/product",
        "CORS preflight",
        cost(1, 1, (0, 0), (0, 0)),
    ),
    // Two bucket settings + redis_url (edge), database_url: the account,
    // then its verification mail; the limiter's connection wakes the mail
    // worker (PUBLISH mail.due).
    ("POST", "/register", "", cost(4, 1, (1, 2), (1, 2))),
    // Edge: the three sign-in bucket settings + redis_url; users:
    // database_url, the two session lifetimes, jwt_secret, the access
    // lifetime (admin_emails only for a proven address). The SELECT, then
    // the connection goes back before argon2 and a second one writes the
    // new family (held across the hash, 32 concurrent sign-ins ran Spin's
    // Postgres out of connections). Redis: the take, then the success's
    // settle on the same connection.
    ("POST", "/login", "", cost(9, 1, (2, 2), (1, 2))),
    // The link routes: the bucket setting(s) and redis_url before anything;
    // a malformed token costs no SQL. Users: database_url (+ admin_emails
    // for a well-formed verify link), one SQL call.
    (
        "POST",
        "/verify-email",
        "malformed token, 400",
        cost(2, 1, (0, 0), (1, 1)),
    ),
    (
        "POST",
        "/verify-email",
        "unknown link, 400",
        cost(4, 1, (1, 1), (1, 1)),
    ),
    // Known or not, the same calls: two buckets, one SQL call, the wake.
    (
        "POST",
        "/password/forgot",
        "known email",
        cost(4, 1, (1, 1), (1, 2)),
    ),
    (
        "POST",
        "/password/forgot",
        "unknown email",
        cost(4, 1, (1, 1), (1, 2)),
    ),
    // The new password's argon2 comes before the one SQL call (a valid link
    // is rare; the address bucket bounds the guessing).
    (
        "POST",
        "/password/reset",
        "unknown link, 400",
        cost(3, 1, (1, 1), (1, 1)),
    ),
    (
        "POST",
        "/verify-email/resend",
        "within the minute, 429",
        cost(4, 1, (1, 1), (1, 1)),
    ),
    // + the stored hash read and argon2; nothing written.
    (
        "PUT",
        "/me/password",
        "wrong current password, 403",
        cost(4, 1, (1, 1), (1, 1)),
    ),
    // A failure is not settled: its tokens stay spent.
    (
        "POST",
        "/login",
        "wrong password",
        cost(5, 1, (1, 1), (1, 1)),
    ),
    // jwt_secret, database_url, refresh lifetime, reuse interval, access
    // lifetime; one call of rotate_refresh_token.
    ("POST", "/refresh", "", cost(5, 1, (1, 1), (0, 0))),
    ("POST", "/logout", "", cost(1, 1, (1, 1), (0, 0))),
    ("GET", "/me", "", cost(2, 1, (1, 1), (0, 0))),
    // Every start takes the per-address bucket first (oauth_rate_limit,
    // redis_url; one EVALSHA), a configured provider or not.
    (
        "GET",
        "/oauth/{provider}",
        "unconfigured, 404",
        cost(3, 1, (0, 0), (1, 1)),
    ),
    // + the provider's four settings, the redirect base, redis_url again;
    // the pending sign-in is one SET on the service's own connection.
    ("GET", "/oauth/{provider}", "", cost(8, 1, (0, 0), (2, 2))),
    // GitHub: code exchange, /user, /user/emails. The state is one GETDEL.
    // SQL: identity lookup, email lookup, account + identity in one
    // statement, the new family. Variables: the provider's six, redis_url,
    // database_url, admin_emails (once: the new account's role), the
    // session settings and jwt_secret.
    (
        "GET",
        "/oauth/{provider}/callback",
        "new account",
        Cost {
            http: 3,
            ..cost(12, 1, (1, 4), (1, 1))
        },
    ),
    (
        "GET",
        "/oauth/{provider}/callback",
        "returning account",
        Cost {
            http: 3,
            ..cost(12, 1, (1, 2), (1, 1))
        },
    ),
    // Edge: jwt_secret, rate_limit (the bucket, passed to the service);
    // orders: redis_url, the token taken (one script call), database_url,
    // one create_order call; one script on the same connection writes the
    // stock through, retires the lists and publishes.
    ("POST", "/order", "", cost(4, 1, (1, 1), (1, 2))),
    // jwt_secret; through the key-value store the list version and the
    // page (or the order); a miss: database_url, the query, redis_url and the
    // fill.
    (
        "GET",
        "/order",
        "uncached",
        Cost {
            kv: 3,
            ..cost(3, 1, (1, 1), (1, 1))
        },
    ),
    (
        "GET",
        "/order",
        "cached",
        Cost {
            kv: 3,
            ..cost(1, 1, (0, 0), (0, 0))
        },
    ),
    (
        "GET",
        "/order/{id}",
        "uncached",
        Cost {
            kv: 2,
            ..cost(3, 1, (1, 1), (1, 1))
        },
    ),
    (
        "GET",
        "/order/{id}",
        "cached",
        Cost {
            kv: 2,
            ..cost(1, 1, (0, 0), (0, 0))
        },
    ),
    // Edge as POST /order; payments: database_url, the server key, the Snap
    // URL; open_payment_attempt, the items, the token saved; Snap.
    (
        "POST",
        "/payment/initiate",
        "new Snap transaction",
        // + storefront_url: where Snap sends the payer back.
        Cost {
            http: 1,
            ..cost(7, 1, (1, 3), (1, 1))
        },
    ),
    (
        "POST",
        "/payment/initiate",
        "the same token again",
        cost(4, 1, (1, 1), (1, 1)),
    ),
    (
        "GET",
        "/payment/order/{order_id}",
        "",
        cost(2, 1, (1, 1), (0, 0)),
    ),
    // database_url, the server key; the forgery is kept in the audit table.
    (
        "POST",
        "/payment/webhook",
        "bad signature, 401",
        cost(2, 1, (1, 1), (0, 0)),
    ),
    // + the status API's URL and redis_url: the amount read, the status API
    // call, one apply_payment_notification call, the event published.
    (
        "POST",
        "/payment/webhook",
        "applied",
        Cost {
            http: 1,
            ..cost(4, 1, (1, 2), (1, 1))
        },
    ),
    // Edge: jwt_secret, rate_limit (the bucket passed to the service);
    // payments: redis_url (the token, then the event published on the same
    // connection), database_url, the server key, the Core API's URL; the
    // order's attempts, the cancel's mark (V18), close_unpaid_order; the
    // status check and the expire call.
    (
        "POST",
        "/order/{id}/cancel",
        "started payment",
        Cost {
            http: 2,
            ..cost(6, 1, (1, 3), (1, 2))
        },
    ),
    // The operator (issue 26). Reads: jwt_secret, then database_url in each
    // service the route calls (admin-api composes the orders, payments and
    // users admin interfaces; the order's page asks two: two connections).
    ("GET", "/admin/orders", "", cost(2, 1, (1, 1), (0, 0))),
    // The order, its events; the payment, its attempts, its notifications.
    ("GET", "/admin/orders/{id}", "", cost(3, 1, (2, 5), (0, 0))),
    // Edge as POST /order; payments: database_url, the Core API's URL, the
    // server key; operator_refund (role check, owed, audit), Midtrans's
    // answer recorded, the status read back; the refund call.
    (
        "POST",
        "/admin/payments/{id}/refund",
        "paid payment",
        Cost {
            http: 1,
            ..cost(6, 1, (1, 3), (1, 1))
        },
    ),
    // The customer's cancel (its row above) plus the role read before
    // anything is closed at Midtrans.
    (
        "POST",
        "/admin/orders/{id}/cancel",
        "started payment",
        Cost {
            http: 2,
            ..cost(6, 1, (1, 4), (1, 2))
        },
    ),
    ("GET", "/admin/anomalies", "", cost(2, 1, (1, 1), (0, 0))),
    (
        "GET",
        "/admin/users",
        "email prefix",
        cost(2, 1, (1, 1), (0, 0)),
    ),
    // Edge's limiter; set_user_role (role check, change, audit), the user read.
    (
        "PUT",
        "/admin/users/{id}/role",
        "",
        cost(4, 1, (1, 2), (1, 1)),
    ),
    ("GET", "/admin/audit", "", cost(2, 1, (1, 1), (0, 0))),
];

fn budget(method: &str, template: &str, case: &str) -> Cost {
    BUDGETS
        .iter()
        .find(|(m, t, c, _)| *m == method && *t == template && *c == case)
        .map(|(.., cost)| *cost)
        .unwrap_or_else(|| panic!("no budget row for {method} {template} {case:?}"))
}

struct Measured {
    rows: Vec<(String, String, String, Cost)>,
}

impl Measured {
    async fn one(
        &mut self,
        env: &TestEnv,
        (method, template, case): (&str, &str, &str),
        req: reqwest::RequestBuilder,
        expect_status: u16,
    ) {
        let before = env.stats();
        // A CORS preflight is not an API operation (not in openapi.json).
        let status = if method == "OPTIONS" {
            req.send().await.unwrap().status().as_u16()
        } else {
            env.send(method, template, req).await.status
        };
        assert_eq!(status, expect_status, "{method} {template} {case}");
        let cost = Cost::from(env.stats().since(&before));
        self.rows
            .push((method.into(), template.into(), case.into(), cost));
    }
}

#[tokio::test]
async fn every_route_stays_within_its_budget() {
    let fake = fake_oauth::FakeOAuth::start().await;
    fake.register(
        "github",
        fake_oauth::App {
            client_id: "gh-client".into(),
            client_secret: "gh-secret".into(),
            redirect_uri: "http://127.0.0.1:3000/oauth/github/callback".into(),
        },
    );
    let midtrans = midtrans_sandbox::Sandbox::start(midtrans_sandbox::Config {
        server_key: integration::shop::MIDTRANS_KEY.into(),
        notification_url: String::new(),
        listen: "127.0.0.1:0".parse().unwrap(),
        public_base: None,
    })
    .await
    .unwrap();
    let env = TestEnv::start_with(&[
        ("midtrans_server_key", integration::shop::MIDTRANS_KEY),
        ("midtrans_snap_base_url", &midtrans.base),
        ("midtrans_api_base_url", &midtrans.base),
        ("cors_origins", "https://shop.example"),
        ("oauth_redirect_base_url", "http://127.0.0.1:3000"),
        ("github_client_id", "gh-client"),
        ("github_client_secret", "gh-secret"),
        ("github_auth_base_url", &fake.base),
        ("github_api_base_url", &fake.base),
    ])
    .await;
    let admin = TestEnv::admin();
    let url = |p: &str| format!("{}{p}", env.base);
    let json_body = |v: serde_json::Value| {
        move |r: reqwest::RequestBuilder| {
            r.header("content-type", "application/json")
                .body(v.to_string())
        }
    };
    let product = json!({"name": "Budget", "price": 10, "stock": 5});
    let created = env
        .call("POST", "/product", Some(&admin), Some(product.clone()))
        .await;
    let id = created.json["product"]["id"].as_i64().unwrap();
    let item = format!("/product/{id}");
    // Redis learns each script on its first EVAL (EVALSHA answers NOSCRIPT
    // once per fresh server): load the list's script, as any earlier
    // request would have, so the table shows the steady state.
    // The same for the product write-through script, on another product.
    // (The list read also fills the list's total, so the uncached page below
    // sets only its page.)
    let other = env
        .call("POST", "/product", Some(&admin), Some(product.clone()))
        .await;
    let other = format!("/product/{}", other.json["product"]["id"]);
    let warm = env
        .call("PUT", &other, Some(&admin), Some(product.clone()))
        .await;
    assert_eq!(warm.status, 200);
    assert_eq!(env.get("/product?page=41").await.status, 200);

    let get = |p: &str| env.http.get(url(p));
    let with_origin = |r: reqwest::RequestBuilder| r.header("origin", "https://shop.example");
    let as_admin = |r: reqwest::RequestBuilder| r.bearer_auth(&admin);
    // In order: the create above bumped the list version and nobody has
    // read the new product, so the first reads of each miss the cache.
    let cases: Vec<((&str, &str, &str), reqwest::RequestBuilder, u16)> = vec![
        (("GET", "/health", ""), get("/health"), 200),
        (
            ("GET", "/health", "with Origin (CORS policy read)"),
            with_origin(get("/health")),
            200,
        ),
        (("GET", "/health/ready", ""), get("/health/ready"), 200),
        (("GET", "/openapi.json", ""), get("/openapi.json"), 200),
        (
            ("GET", "(no route)", "unknown path, 404"),
            get("/nope/at/all"),
            404,
        ),
        (("GET", "/product", "uncached page"), get("/product"), 200),
        (("GET", "/product", "cached page"), get("/product"), 200),
        (
            ("GET", "/product", "past the last page"),
            get("/product?page=40"),
            200,
        ),
        (("GET", "/product/{id}", "uncached"), get(&item), 200),
        (("GET", "/product/{id}", "cached"), get(&item), 200),
        (
            ("GET", "/product/{id}", "malformed id, 400"),
            get("/product/abc"),
            400,
        ),
        (
            ("POST", "/product", ""),
            json_body(product.clone())(as_admin(env.http.post(url("/product")))),
            201,
        ),
        (
            ("PUT", "/product/{id}", ""),
            json_body(product.clone())(as_admin(env.http.put(url(&item)))),
            200,
        ),
        (
            ("DELETE", "/product/{id}", ""),
            as_admin(env.http.delete(url(&item))),
            204,
        ),
        (
            ("OPTIONS", "/product", "CORS preflight"),
            with_origin(env.http.request(reqwest::Method::OPTIONS, url("/product")))
                .header("access-control-request-method", "POST"),
            204,
        ),
    ];
    let mut m = Measured { rows: Vec::new() };
    for (key, req, status) in cases {
        m.one(&env, key, req, status).await;
    }
    accounts(&env, &mut m).await;
    oauth(&env, &fake, &mut m).await;
    orders_and_payments(&env, &midtrans, &mut m).await;

    println!(
        "{:<8} {:<16} {:<32} v.app v.lit  log pg.conn pg.stmt redis.conn redis.cmd http  kv inst",
        "method", "route", "case"
    );
    for (method, template, case, cost) in &m.rows {
        println!("{method:<8} {template:<16} {case:<32} {cost}");
    }
    let mut over = Vec::new();
    for (method, template, case, cost) in &m.rows {
        let allowed = budget(method, template, case);
        if *cost != allowed {
            over.push(format!(
                "{method} {template} {case:?}: measured\n    {cost}\n  budget\n    {allowed}"
            ));
        }
    }
    assert!(
        over.is_empty(),
        "costs differ from the budget table:\n{}",
        over.join("\n")
    );

    // Every route of the API has a row, and every row was measured.
    let measured: BTreeSet<(String, String)> = m
        .rows
        .iter()
        .map(|(m, t, ..)| (m.clone(), t.clone()))
        .collect();
    for (method, template) in edge::route::Route::all() {
        assert!(
            measured.contains(&(method.to_string(), template.to_string())),
            "{method} {template} has no budget row"
        );
    }
    assert_eq!(m.rows.len(), BUDGETS.len(), "a budget row was not measured");
    env.assert_clean();
}

/// The account routes, in the order a session lives.
async fn accounts(env: &TestEnv, m: &mut Measured) {
    let post = |path: &str, body: serde_json::Value| {
        env.http
            .post(format!("{}{path}", env.base))
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    let credentials = json!({"email": "budget@example.com", "password": "budget-password"});
    let registration = json!({
        "full_name": "Budget", "email": "budget@example.com", "password": "budget-password"
    });
    m.one(
        env,
        ("POST", "/register", ""),
        post("/register", registration),
        201,
    )
    .await;
    // Loads the sign-in script into Redis (a first use is EVALSHA, then
    // EVAL): the budget is a running server's.
    env.call(
        "POST",
        "/login",
        None,
        Some(json!({"email": "warm@example.com", "password": "wrong-password"})),
    )
    .await;
    m.one(
        env,
        ("POST", "/login", "wrong password"),
        post(
            "/login",
            json!({"email": "budget@example.com", "password": "wrong-password"}),
        ),
        401,
    )
    .await;
    let session = env
        .call("POST", "/login", None, Some(credentials.clone()))
        .await;
    let access = session.json["token"].as_str().unwrap().to_string();
    let refresh = session.json["refresh_token"].as_str().unwrap().to_string();
    m.one(
        env,
        ("POST", "/login", ""),
        post("/login", credentials),
        200,
    )
    .await;
    m.one(
        env,
        ("POST", "/refresh", ""),
        post("/refresh", json!({ "refresh_token": refresh })),
        200,
    )
    .await;
    m.one(
        env,
        ("GET", "/me", ""),
        env.http
            .get(format!("{}/me", env.base))
            .bearer_auth(&access),
        200,
    )
    .await;
    // The account-link routes, on the same (unverified) account.
    m.one(
        env,
        ("POST", "/verify-email", "malformed token, 400"),
        post("/verify-email", json!({"token": "not-a-token"})),
        400,
    )
    .await;
    m.one(
        env,
        ("POST", "/verify-email", "unknown link, 400"),
        post("/verify-email", json!({"token": "A".repeat(43)})),
        400,
    )
    .await;
    for case in ["known email", "unknown email"] {
        let email = match case {
            "known email" => "budget@example.com",
            _ => "nobody@example.com",
        };
        m.one(
            env,
            ("POST", "/password/forgot", case),
            post("/password/forgot", json!({ "email": email })),
            202,
        )
        .await;
    }
    m.one(
        env,
        ("POST", "/password/reset", "unknown link, 400"),
        post(
            "/password/reset",
            json!({"token": "A".repeat(43), "password": "another-password"}),
        ),
        400,
    )
    .await;
    m.one(
        env,
        ("POST", "/verify-email/resend", "within the minute, 429"),
        env.http
            .post(format!("{}/verify-email/resend", env.base))
            .bearer_auth(&access),
        429,
    )
    .await;
    m.one(
        env,
        ("PUT", "/me/password", "wrong current password, 403"),
        env.http
            .put(format!("{}/me/password", env.base))
            .bearer_auth(&access)
            .header("content-type", "application/json")
            .body(
                json!({"current_password": "wrong-password", "new_password": "another-password"})
                    .to_string(),
            ),
        403,
    )
    .await;
    m.one(
        env,
        ("POST", "/logout", ""),
        post("/logout", json!({ "refresh_token": refresh })),
        204,
    )
    .await;
}

/// Provider sign-in: an unconfigured provider, then GitHub's whole flow
/// against the fake provider (a new account, then the same one again).
async fn oauth(env: &TestEnv, fake: &fake_oauth::FakeOAuth, m: &mut Measured) {
    let get = |p: &str| env.http.get(format!("{}{p}", env.base));
    m.one(
        env,
        ("GET", "/oauth/{provider}", "unconfigured, 404"),
        get("/oauth/google"),
        404,
    )
    .await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for case in ["new account", "returning account"] {
        fake.sign_in_as(
            "github",
            fake_oauth::Account {
                subject: "77".into(),
                name: "Budget".into(),
                email: Some("budget-gh@example.com".into()),
                email_verified: true,
            },
        );
        let start = env.get("/oauth/github").await;
        if case == "new account" {
            // Measure the start once, on a configured provider.
            m.one(
                env,
                ("GET", "/oauth/{provider}", ""),
                get("/oauth/github"),
                200,
            )
            .await;
        }
        let url = start.json["url"].as_str().unwrap();
        let location = browser.get(url).send().await.unwrap().headers()["location"]
            .to_str()
            .unwrap()
            .to_string();
        let query = location.split_once('?').unwrap().1.to_string();
        m.one(
            env,
            ("GET", "/oauth/{provider}/callback", case),
            get(&format!("/oauth/github/callback?{query}")),
            200,
        )
        .await;
    }
}

/// An order's life: placed, read (cold, then cached), paid.
async fn orders_and_payments(
    env: &TestEnv,
    midtrans: &midtrans_sandbox::Sandbox,
    m: &mut Measured,
) {
    let (_, token) = env.customer_account("Budget Buyer").await;
    let p = env.products(&[("Budget item", 1_000, 100)]).await[0];
    let order_body = json!({"items": [{"product_id": p, "quantity": 1}]});
    let post = |path: &str, body: &serde_json::Value| {
        env.http
            .post(format!("{}{path}", env.base))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    let get = |path: &str| {
        env.http
            .get(format!("{}{path}", env.base))
            .bearer_auth(&token)
    };
    // Warm the scripts (write-through, the list read) as earlier requests would.
    assert_eq!(
        env.call("POST", "/order", Some(&token), Some(order_body.clone()))
            .await
            .status,
        201
    );
    assert_eq!(
        env.call("GET", "/order", Some(&token), None).await.status,
        200
    );
    m.one(
        env,
        ("POST", "/order", ""),
        post("/order", &order_body),
        201,
    )
    .await;
    let id = env.call("GET", "/order", Some(&token), None).await.json["orders"][0]["id"]
        .as_i64()
        .unwrap();
    // The listing just above filled page 1 again; ask for another page size.
    m.one(
        env,
        ("GET", "/order", "uncached"),
        get("/order?page_size=5"),
        200,
    )
    .await;
    m.one(
        env,
        ("GET", "/order", "cached"),
        get("/order?page_size=5"),
        200,
    )
    .await;
    let item = format!("/order/{id}");
    m.one(env, ("GET", "/order/{id}", "uncached"), get(&item), 200)
        .await;
    m.one(env, ("GET", "/order/{id}", "cached"), get(&item), 200)
        .await;
    let initiate =
        json!({"order_id": id, "customer_name": "Budget", "customer_email": "b@example.com"});
    m.one(
        env,
        ("POST", "/payment/initiate", "new Snap transaction"),
        post("/payment/initiate", &initiate),
        200,
    )
    .await;
    m.one(
        env,
        ("POST", "/payment/initiate", "the same token again"),
        post("/payment/initiate", &initiate),
        200,
    )
    .await;
    let payment = format!("/payment/order/{id}");
    m.one(
        env,
        ("GET", "/payment/order/{order_id}", ""),
        get(&payment),
        200,
    )
    .await;
    let gateway_id = env.call("GET", &payment, Some(&token), None).await.json["payment"]
        ["gateway_order_id"]
        .as_str()
        .unwrap()
        .to_string();
    midtrans.set_status(&gateway_id, "settlement", Some("accept"));
    let tx = midtrans.transaction(&gateway_id).unwrap();
    let notification = midtrans_sandbox::notification_body(&tx, integration::shop::MIDTRANS_KEY);
    let mut forged = notification.clone();
    forged["signature_key"] = json!("0".repeat(128));
    let webhook = |body: &serde_json::Value| {
        env.http
            .post(format!("{}/payment/webhook", env.base))
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    m.one(
        env,
        ("POST", "/payment/webhook", "bad signature, 401"),
        webhook(&forged),
        401,
    )
    .await;
    m.one(
        env,
        ("POST", "/payment/webhook", "applied"),
        webhook(&notification),
        200,
    )
    .await;
    // A cancel of a started payment: asked, closed at Midtrans, cancelled.
    let order = env
        .call("POST", "/order", Some(&token), Some(order_body.clone()))
        .await;
    let id = order.json["order"]["id"].as_i64().unwrap();
    let initiate =
        json!({"order_id": id, "customer_name": "Budget", "customer_email": "b@example.com"});
    assert_eq!(
        env.call("POST", "/payment/initiate", Some(&token), Some(initiate))
            .await
            .status,
        200
    );
    m.one(
        env,
        ("POST", "/order/{id}/cancel", "started payment"),
        env.http
            .post(format!("{}/order/{id}/cancel", env.base))
            .bearer_auth(&token),
        200,
    )
    .await;
    let paid = env.call("GET", "/order", Some(&token), None).await.json["orders"][1]["id"]
        .as_i64()
        .unwrap();
    operator(env, m, &token, paid).await;
}

/// The operator's routes: reads compose three services' admin interfaces;
/// each write checks the role in the database and writes its audit row in
/// the statement that makes the change.
async fn operator(env: &TestEnv, m: &mut Measured, buyer: &str, paid: i64) {
    let admin_id: i64 = env
        .db
        .client()
        .await
        .query_one(
            "INSERT INTO users (full_name, email, role) VALUES ('Ops', 'ops@shop.example', 'admin') \
             RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let admin = TestEnv::token(admin_id, true);
    let get = |p: &str| env.http.get(format!("{}{p}", env.base)).bearer_auth(&admin);
    let post = |p: &str| {
        env.http
            .post(format!("{}{p}", env.base))
            .bearer_auth(&admin)
    };
    m.one(
        env,
        ("GET", "/admin/orders", ""),
        get("/admin/orders?status=paid"),
        200,
    )
    .await;
    let detail = format!("/admin/orders/{paid}");
    m.one(env, ("GET", "/admin/orders/{id}", ""), get(&detail), 200)
        .await;
    let payment_id = env.call("GET", &detail, Some(&admin), None).await.json["payment"]["id"]
        .as_i64()
        .unwrap();
    m.one(
        env,
        ("POST", "/admin/payments/{id}/refund", "paid payment"),
        post(&format!("/admin/payments/{payment_id}/refund")),
        202,
    )
    .await;
    let order = env
        .call(
            "POST",
            "/order",
            Some(buyer),
            Some(json!({"items": [{"product_id": env.products(&[("Ops item", 500, 5)]).await[0], "quantity": 1}]})),
        )
        .await;
    let id = order.json["order"]["id"].as_i64().unwrap();
    let initiate =
        json!({"order_id": id, "customer_name": "Budget", "customer_email": "b@example.com"});
    assert_eq!(
        env.call("POST", "/payment/initiate", Some(buyer), Some(initiate))
            .await
            .status,
        200
    );
    m.one(
        env,
        ("POST", "/admin/orders/{id}/cancel", "started payment"),
        post(&format!("/admin/orders/{id}/cancel")),
        200,
    )
    .await;
    m.one(
        env,
        ("GET", "/admin/anomalies", ""),
        get("/admin/anomalies"),
        200,
    )
    .await;
    m.one(
        env,
        ("GET", "/admin/users", "email prefix"),
        get("/admin/users?email=budget"),
        200,
    )
    .await;
    let (customer, _) = env.customer_account("Promoted").await;
    m.one(
        env,
        ("PUT", "/admin/users/{id}/role", ""),
        env.http
            .put(format!("{}/admin/users/{customer}/role", env.base))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(json!({"role": "admin"}).to_string()),
        200,
    )
    .await;
    m.one(env, ("GET", "/admin/audit", ""), get("/admin/audit"), 200)
        .await;
}

#[tokio::test]
async fn a_log_line_is_one_write_and_carries_no_secret() {
    let env = TestEnv::start().await;
    let admin = TestEnv::admin();
    let before = env.stats();
    let r = env
        .call(
            "POST",
            "/product",
            Some(&admin),
            Some(json!({"name": "Logged", "price": 1, "stock": 1})),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(env.stats().since(&before).stdio_writes, 1);
    let log = env.stderr_of("products-api");
    let line: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(line["route"], "/product");
    assert_eq!(line["method"], "POST");
    assert_eq!(line["status"], 201);
    assert_eq!(line["user_id"], 1);
    assert!(line["request_id"].as_str().is_some_and(|id| id.len() == 32));
    assert!(!log.contains(&admin), "the token reached the log");
    assert!(!log.contains(integration::JWT_SECRET));
    // Each component writes to its own file, as `spin up` does.
    env.get("/health").await;
    assert!(env.stderr_of("gateway").contains("\"route\":\"/health\""));
    assert!(!env.stderr_of("products-api").contains("/health"));
}
