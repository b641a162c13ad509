//! The journey on a real Spin (issue 24 §6): the project host stands in for
//! Spin in every other test, so once per run the same components run on
//! `spin up` itself — the HTTP components as one process, the saga's
//! workers as another, as `cargo xtask up` and the SpinKube apps run them —
//! against real Postgres, Redis and the Midtrans sandbox: sign up, sign in,
//! order, pay on the sandbox, the order is paid; a denied payment fails its
//! order and the stock comes back. `.ci/run` puts `../shared/tools` (a Spin
//! 3.6.3 built from source) on PATH; where no `spin` is found the test says
//! so and passes (a user's machine need not have Spin).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use integration::shop::{self, MIDTRANS_KEY};
use integration::{redis_client, workspace_root, RedisServer, TestDatabase, JWT_SECRET};
use platform_host::manifest::Manifest;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

fn spin_on_path() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("spin"))
            .find(|candidate| candidate.is_file())
    })
}

/// A `spin up`, killed when dropped (its log kept for a failure's message).
struct SpinProcess {
    child: Child,
    log: PathBuf,
}

/// `spin up` runs its trigger as a child process (`spin trigger http`):
/// killing `spin up` alone left that child serving, so the whole process
/// group goes (each `spin up` starts its own).
impl Drop for SpinProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SpinProcess {
    fn start(
        spin: &Path,
        components: &[String],
        listen: Option<&str>,
        vars: &HashMap<String, String>,
        runtime_config: &Path,
        name: &str,
    ) -> SpinProcess {
        let root = workspace_root();
        let log = std::env::temp_dir().join(format!("real-spin-{}-{name}.log", std::process::id()));
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(spin);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.current_dir(&root)
            .args(["up", "--from", "spin.toml"])
            .arg("--runtime-config-file")
            .arg(runtime_config)
            .envs(vars)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        if let Some(listen) = listen {
            cmd.args(["--listen", listen]);
        }
        for c in components {
            cmd.args(["-c", c]);
        }
        SpinProcess {
            child: cmd.spawn().expect("spin up starts"),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `check` every 100 ms until it holds or `secs` pass.
async fn eventually<F, Fut>(secs: u64, what: &str, context: impl Fn() -> String, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "{what} within {secs} s\n{}",
            context()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("the app answers");
        let status = r.status().as_u16();
        let json = r.json().await.unwrap_or(Value::Null);
        integration::openapi::check(method, path, status, &json);
        (status, json)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journey_runs_on_a_real_spin() {
    let Some(spin) = spin_on_path() else {
        println!(
            "skipped: no `spin` on PATH (put ../shared/tools on PATH to run the app on Spin 3.6.3)"
        );
        return;
    };
    let db = TestDatabase::create().await;
    let redis = RedisServer::start().expect("redis-server starts");
    let midtrans = shop::sandbox().await;
    let listen = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{listen}");
    midtrans.set_notification_url(&format!("{base}/payment/webhook"));
    let vars: HashMap<String, String> = [
        ("DATABASE_URL", db.url.clone()),
        ("DATABASE_HOST", db.host.clone()),
        ("DATABASE_PORT", db.port.to_string()),
        ("REDIS_URL", redis.url()),
        ("REDIS_HOST", "127.0.0.1".into()),
        ("REDIS_PORT", redis.port.to_string()),
        ("JWT_SECRET", JWT_SECRET.into()),
        ("STOREFRONT_URL", base.clone()),
        ("OAUTH_REDIRECT_BASE_URL", format!("{base}/app")),
        ("MIDTRANS_SERVER_KEY", MIDTRANS_KEY.into()),
        ("MIDTRANS_SNAP_BASE_URL", midtrans.base.clone()),
        ("MIDTRANS_API_BASE_URL", midtrans.base.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("SPIN_VARIABLE_{k}"), v))
    .collect();
    // The `cache` key-value store on this test's Redis.
    let runtime_config =
        std::env::temp_dir().join(format!("real-spin-{}-runtime.toml", std::process::id()));
    std::fs::write(
        &runtime_config,
        integration::runtime_config_toml(&redis.url()),
    )
    .unwrap();

    // The first `spin` call unpacks the binary (../shared/tools/spin): once,
    // before two processes would race to do it.
    let version = Command::new(&spin)
        .arg("--version")
        .output()
        .expect("spin runs");
    assert!(version.status.success(), "{version:?}");
    println!(
        "real Spin: {}",
        String::from_utf8_lossy(&version.stdout).trim()
    );

    let manifest = Manifest::load(&workspace_root().join("spin.toml")).unwrap();
    let http: Vec<String> = manifest
        .trigger
        .http
        .iter()
        .map(|t| t.component.clone())
        .collect();
    let workers: Vec<String> = integration::WORKERS.iter().map(|w| w.to_string()).collect();
    let app = SpinProcess::start(&spin, &http, Some(&listen), &vars, &runtime_config, "app");
    let saga = SpinProcess::start(&spin, &workers, None, &vars, &runtime_config, "workers");
    let client = Client {
        http: reqwest::Client::new(),
        base: base.clone(),
    };

    // A cold start compiles every component (seconds; Spin's
    // wasmtime cache makes the next start quick).
    let started = Instant::now();
    eventually(
        300,
        "spin up serves /health",
        || app.log(),
        || async {
            client
                .http
                .get(format!("{base}/health"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        },
    )
    .await;
    let mut conn = redis_client(&redis);
    println!(
        "real Spin: the app serves after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    eventually(
        300,
        "the workers subscribe",
        || saga.log(),
        || {
            let subs: Vec<(String, i64)> = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(&["order.created", "payment.updated"])
                .query(&mut conn)
                .unwrap();
            async move { subs.iter().all(|(_, n)| *n >= 1) }
        },
    )
    .await;

    println!(
        "real Spin: the workers subscribe after {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Sign up and sign in (argon2 on Spin), a product in the catalog.
    let email = "spin-shopper@example.com";
    let (status, body) = client
        .call(
            "POST",
            "/register",
            None,
            Some(json!({"full_name": "Sinta", "email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 201, "{body}\n{}", app.log());
    let (status, session) = client
        .call(
            "POST",
            "/login",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 200, "{session}");
    let token = session["token"].as_str().unwrap().to_string();
    let sql = db.client().await;
    let product: i64 = sql
        .query_one(
            "INSERT INTO products (name, price, stock) VALUES ('Kopi', 25000, 10) RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let stock = || async {
        let row = db
            .client()
            .await
            .query_one("SELECT stock FROM products WHERE id = $1", &[&product])
            .await
            .unwrap();
        row.get::<_, i32>(0)
    };

    // Order, pay on the sandbox, paid; then a denied one: failed, stock back.
    let pay = |verdict: &'static str, quantity: i64| {
        let client = &client;
        let token = token.clone();
        let midtrans_base = midtrans.base.clone();
        async move {
            let (status, order) = client
                .call(
                    "POST",
                    "/order",
                    Some(&token),
                    Some(json!({"items": [{"product_id": product, "quantity": quantity}]})),
                )
                .await;
            assert_eq!(status, 201, "{order}");
            let id = order["order"]["id"].as_i64().unwrap();
            let (status, initiated) = client
                .call(
                    "POST",
                    "/payment/initiate",
                    Some(&token),
                    Some(
                        json!({"order_id": id, "customer_name": "Sinta", "customer_email": email}),
                    ),
                )
                .await;
            assert_eq!(status, 200, "{initiated}");
            let (_, payment) = client
                .call("GET", &format!("/payment/order/{id}"), Some(&token), None)
                .await;
            let gateway_id = payment["payment"]["gateway_order_id"]
                .as_str()
                .unwrap()
                .to_string();
            let sent: Value = client
                .http
                .post(format!("{midtrans_base}/simulate/{gateway_id}"))
                .json(&json!({"transaction_status": verdict}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(sent["webhook_status"], 200, "{sent}");
            id
        }
    };
    let status_of = |id: i64| {
        let client = &client;
        let token = token.clone();
        async move {
            let (_, order) = client
                .call("GET", &format!("/order/{id}"), Some(&token), None)
                .await;
            order["order"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
    };
    let paid = pay("settlement", 3).await;
    eventually(
        30,
        "the paid order becomes paid",
        || saga.log(),
        || async { status_of(paid).await == "paid" },
    )
    .await;
    assert_eq!(stock().await, 7, "paid keeps its stock");
    let denied = pay("deny", 2).await;
    eventually(
        30,
        "the denied order fails",
        || saga.log(),
        || async { status_of(denied).await == "failed" },
    )
    .await;
    eventually(
        30,
        "its stock comes back",
        || saga.log(),
        || async { stock().await == 7 },
    )
    .await;
    // The catalog's reads go through Spin's key-value store on the same
    // Redis: the first fills the entry, the second is read from the store,
    // and both show the stock the saga wrote through.
    for read in ["filled", "from the key-value store"] {
        let (status, body) = client
            .call("GET", &format!("/product/{product}"), None, None)
            .await;
        assert_eq!(status, 200, "{read}: {body}");
        assert_eq!(body["product"]["stock"], 7, "{read}: {body}");
    }
    // The operator's API: admin-api composes three services' admin
    // interfaces, one package each (Spin refuses two from one package).
    let admin_id: i64 = sql
        .query_one(
            "INSERT INTO users (full_name, email, role) VALUES ('Ops', 'ops@spin.test', 'admin') \
             RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let admin = integration::TestEnv::token(admin_id, true);
    let (status, detail) = client
        .call("GET", &format!("/admin/orders/{paid}"), Some(&admin), None)
        .await;
    assert_eq!(status, 200, "{detail}\n{}", app.log());
    assert_eq!(detail["payment"]["status"], "paid", "{detail}");
    let payment_id = detail["payment"]["id"].as_i64().unwrap();
    let (status, refund) = client
        .call(
            "POST",
            &format!("/admin/payments/{payment_id}/refund"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 202, "{refund}\n{}", app.log());
    eventually(
        30,
        "the refunded payment reads refunded",
        || app.log(),
        || async {
            let (_, detail) = client
                .call("GET", &format!("/admin/orders/{paid}"), Some(&admin), None)
                .await;
            detail["payment"]["status"] == "refunded"
        },
    )
    .await;
    let log = app.log();
    assert!(
        !log.contains("key-value"),
        "the store failed on Spin (reads fell back to Postgres): {log}"
    );
    println!(
        "real Spin: the journey took {:.1} s in all",
        started.elapsed().as_secs_f64()
    );
    drop(saga);
    drop(app);
}
