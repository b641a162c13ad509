//! Test support: a throw-away database and Redis server per test, the app
//! served by the project host on a free port, and an HTTP client whose every
//! response is checked against the OpenAPI document.

pub mod db;
pub mod openapi;
pub mod redis_server;
pub mod shop;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use platform_host::{App, AppOptions, StatsSnapshot};
use serde_json::Value;

pub use db::TestDatabase;
pub use redis_server::{client as redis_client, RedisServer};
pub use test_support::{KafkaBroker, PostgresServer};

pub const JWT_SECRET: &str = "integration-test-secret-0123456789abcdef";

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One running platform: its database, its Redis, its HTTP address.
pub struct TestEnv {
    pub db: TestDatabase,
    pub redis: RedisServer,
    pub base: String,
    pub http: reqwest::Client,
    /// Where the components' stdout/stderr files are (Spin's `.spin/logs`).
    pub log_dir: PathBuf,
    app: Arc<App>,
    server: tokio::task::JoinHandle<()>,
    /// The `SPIN_VARIABLE_*` values the app runs with (the workers too).
    env: HashMap<String, String>,
}

/// The saga workers as their own "process" (`spin up -c order-created-worker
/// -c payment-updated-worker`): another App on the same manifest running
/// only the Redis triggers. Dropping it stops them, like killing the process.
pub struct Workers {
    pub app: Arc<App>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub const WORKERS: [&str; 3] = [
    "order-created-worker",
    "payment-updated-worker",
    "maintenance-worker",
];

/// A response as the tests look at it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
    pub raw: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn error(&self) -> &str {
        self.json["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message in {:?}", self.json))
    }
}

impl TestEnv {
    pub async fn start() -> TestEnv {
        Self::start_with(&[]).await
    }

    /// Starts the app with extra `SPIN_VARIABLE_*` values (`name`, `value`).
    pub async fn start_with(variables: &[(&str, &str)]) -> TestEnv {
        let db = TestDatabase::create().await;
        let redis = RedisServer::start().expect("redis-server starts");
        let mut env = HashMap::from([
            ("SPIN_VARIABLE_DATABASE_URL".to_string(), db.url.clone()),
            ("SPIN_VARIABLE_DATABASE_HOST".to_string(), db.host.clone()),
            (
                "SPIN_VARIABLE_DATABASE_PORT".to_string(),
                db.port.to_string(),
            ),
            ("SPIN_VARIABLE_REDIS_URL".to_string(), redis.url()),
            (
                "SPIN_VARIABLE_REDIS_HOST".to_string(),
                "127.0.0.1".to_string(),
            ),
            (
                "SPIN_VARIABLE_REDIS_PORT".to_string(),
                redis.port.to_string(),
            ),
            (
                "SPIN_VARIABLE_JWT_SECRET".to_string(),
                JWT_SECRET.to_string(),
            ),
        ]);
        for (name, value) in variables {
            env.insert(
                format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase()),
                value.to_string(),
            );
        }
        let log_dir = fresh_log_dir();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        // Snap sends payers back to the storefront this app serves.
        env.entry("SPIN_VARIABLE_STOREFRONT_URL".to_string())
            .or_insert_with(|| base.clone());
        // Providers send the browser back to the storefront's page.
        env.entry("SPIN_VARIABLE_OAUTH_REDIRECT_BASE_URL".to_string())
            .or_insert_with(|| format!("{base}/app"));
        let (app, server) = serve_on(
            listener,
            workspace_root().join("spin.toml"),
            env.clone(),
            Some(log_dir.clone()),
        );
        TestEnv {
            db,
            redis,
            base,
            http: reqwest::Client::new(),
            log_dir,
            app,
            server,
            env,
        }
    }

    /// Starts the workers and waits until every channel has a subscriber.
    pub async fn start_workers(&self) -> Workers {
        self.start_triggers(
            &WORKERS,
            &["order.created", "payment.updated", "maintenance.tick"],
        )
        .await
    }

    /// Starts the mail worker as its own "process" (as `cargo xtask up` and
    /// the `platform-mail` SpinApp run it).
    pub async fn start_mail_worker(&self) -> Workers {
        self.start_triggers(&["mail-worker"], &["mail.due"]).await
    }

    /// Starts `components`' Redis triggers and waits until each of
    /// `channels` has a subscriber.
    async fn start_triggers(&self, components: &[&str], channels: &[&str]) -> Workers {
        let app = Arc::new(
            App::load(AppOptions {
                manifest: workspace_root().join("spin.toml"),
                env: self.env.clone(),
                use_process_env: false,
                components: components.iter().map(|w| w.to_string()).collect(),
                check_transactions: true,
                logs: platform_host::stdio::LogSettings {
                    dir: Some(self.log_dir.clone()),
                    echo: false,
                },
                runtime_config: runtime_config(&self.env),
            })
            .expect("the workers load"),
        );
        let running = app.clone();
        let task = tokio::spawn(async move { running.run(None).await });
        let mut conn = redis_client(&self.redis);
        for _ in 0..500 {
            let subs: Vec<(String, i64)> = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(channels)
                .query(&mut conn)
                .unwrap();
            if subs.iter().all(|(_, n)| *n >= 1) {
                return Workers { app, task };
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the workers did not subscribe");
    }

    /// A new customer account (a row, as registration makes it) and a token.
    pub async fn customer_account(&self, name: &str) -> (i64, String) {
        let client = self.db.client().await;
        let id: i64 = client
            .query_one(
                "INSERT INTO users (full_name, email) VALUES ($1, $2) RETURNING id",
                &[&name, &format!("{}@example.com", name.to_lowercase())],
            )
            .await
            .unwrap()
            .get(0);
        (id, Self::token(id, false))
    }

    /// A product's stock as Postgres has it.
    pub async fn stock(&self, product: i64) -> i32 {
        self.db
            .client()
            .await
            .query_one("SELECT stock FROM products WHERE id = $1", &[&product])
            .await
            .unwrap()
            .get(0)
    }

    /// Products straight into the catalog: (name, price, stock) → ids.
    pub async fn products(&self, rows: &[(&str, i64, i32)]) -> Vec<i64> {
        let client = self.db.client().await;
        let mut ids = Vec::new();
        for (name, price, stock) in rows {
            ids.push(
                client
                    .query_one(
                        "INSERT INTO products (name, price, stock) VALUES ($1, $2, $3) RETURNING id",
                        &[name, price, stock],
                    )
                    .await
                    .unwrap()
                    .get(0),
            );
        }
        ids
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.app.stats()
    }

    /// Everything `component` wrote to stderr so far.
    pub fn stderr_of(&self, component: &str) -> String {
        std::fs::read_to_string(self.log_dir.join(format!("{component}_stderr.txt")))
            .unwrap_or_default()
    }

    /// The status of a POST to `path` that declares a `Content-Length` of
    /// `length` and sends no body: a route that refuses by the declared
    /// length answers without reading it. (Sending the body too races the
    /// early answer: the server closes the connection while the client still
    /// writes, and the client sees a broken pipe instead of the 413.)
    pub async fn declared_length_status(
        &self,
        path: &str,
        content_type: &str,
        length: usize,
    ) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n\
             Content-Length: {length}\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        let read = async {
            while !got.windows(2).any(|w| w == b"\r\n") {
                let n = stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "closed before a status line");
                got.extend_from_slice(&buf[..n]);
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(30), read)
            .await
            .expect("an answer before the body");
        let line = String::from_utf8_lossy(&got);
        line.split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    pub fn token(user_id: i64, admin: bool) -> String {
        let role = if admin {
            auth_core::Role::Admin
        } else {
            auth_core::Role::Customer
        };
        auth_core::issue_access_token(JWT_SECRET.as_bytes(), user_id, role, 900).unwrap()
    }

    pub fn admin() -> String {
        Self::token(1, true)
    }

    pub fn customer() -> String {
        Self::token(2, false)
    }

    /// Sends a request; the response is checked against the OpenAPI document.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        self.send(method, path, req).await
    }

    /// Sends a prepared request (raw bodies, odd headers) and checks the answer.
    pub async fn send(&self, method: &str, path: &str, req: reqwest::RequestBuilder) -> Reply {
        self.exchange(method, path, req, true).await
    }

    /// [`send`](Self::send) for paths that are not the API (the storefront's
    /// files): a JSON body is checked only when the answer says it is JSON.
    pub async fn send_for_file(
        &self,
        method: &str,
        path: &str,
        req: reqwest::RequestBuilder,
    ) -> Reply {
        self.exchange(method, path, req, false).await
    }

    async fn exchange(
        &self,
        method: &str,
        path: &str,
        req: reqwest::RequestBuilder,
        api: bool,
    ) -> Reply {
        let resp = req.send().await.expect("request failed");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let raw = resp.bytes().await.unwrap().to_vec();
        let is_json = headers
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let json = if raw.is_empty() || (!api && !is_json) {
            Value::Null
        } else {
            serde_json::from_slice(&raw).unwrap_or_else(|_| {
                panic!(
                    "{method} {path}: {status} with a non-JSON body: {}",
                    String::from_utf8_lossy(&raw)
                )
            })
        };
        assert_ne!(status, 500, "{method} {path} answered 500: {json}");
        assert!(
            headers.contains_key("x-request-id"),
            "{method} {path}: no x-request-id"
        );
        if api {
            openapi::check(method, path, status, &json);
        }
        Reply {
            status,
            headers,
            json,
            raw,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None, None).await
    }

    /// The invariants every test ends with: no trap, no leaked transaction.
    pub fn assert_clean(&self) {
        let s = self.stats();
        assert_eq!(s.traps, 0, "a component trapped: {s:?}");
        assert_eq!(
            s.leaked_transactions, 0,
            "a transaction outlived its request: {s:?}"
        );
    }
}

/// The runtime config `cargo xtask up` writes: the `cache` key-value store
/// on the app's own Redis (`SPIN_VARIABLE_REDIS_URL`), so the cached reads
/// see what the write-through scripts wrote.
pub fn runtime_config(env: &HashMap<String, String>) -> platform_host::RuntimeConfig {
    match env.get("SPIN_VARIABLE_REDIS_URL") {
        Some(url) => platform_host::RuntimeConfig::parse(&runtime_config_toml(url))
            .expect("the generated runtime config parses"),
        None => platform_host::RuntimeConfig::default(),
    }
}

/// The runtime-config file for an app whose Redis is `redis_url`.
pub fn runtime_config_toml(redis_url: &str) -> String {
    format!("[key_value_store.cache]\ntype = \"redis\"\nurl = {redis_url:?}\n")
}

/// Loads an app on the project host (variables from `env` only) and serves
/// its HTTP trigger on a free port: the app, its base URL, the server task.
pub async fn serve(
    manifest: PathBuf,
    env: HashMap<String, String>,
    log_dir: Option<PathBuf>,
) -> (Arc<App>, String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (app, server) = serve_on(listener, manifest, env, log_dir);
    (app, base, server)
}

/// [`serve`] on a listener the caller bound (to know the URL beforehand).
pub fn serve_on(
    listener: tokio::net::TcpListener,
    manifest: PathBuf,
    env: HashMap<String, String>,
    log_dir: Option<PathBuf>,
) -> (Arc<App>, tokio::task::JoinHandle<()>) {
    let env_for_config = env.clone();
    let app = Arc::new(
        App::load(AppOptions {
            manifest,
            env,
            use_process_env: false,
            components: Vec::new(),
            check_transactions: true,
            logs: platform_host::stdio::LogSettings {
                dir: log_dir,
                echo: false,
            },
            runtime_config: runtime_config(&env_for_config),
        })
        .expect("the app loads (did `cargo xtask build` run?)"),
    );
    let serving = app.clone();
    let server = tokio::spawn(async move {
        let _ = serving.serve(listener).await;
    });
    (app, server)
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        self.server.abort();
        let _ = std::fs::remove_dir_all(&self.log_dir);
    }
}

/// A log directory no other test uses.
fn fresh_log_dir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    std::env::temp_dir().join(format!(
        "platform-test-logs-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

impl TestEnv {
    /// `get` with an owned path, for building many futures at once.
    pub async fn get_owned(&self, path: String) -> Reply {
        self.get(&path).await
    }
}
