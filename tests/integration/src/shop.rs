//! The whole platform for saga tests: the HTTP app, the workers as their own
//! "process", and the local Midtrans sandbox pointed at the app's webhook.

use std::time::{Duration, Instant};

use midtrans_sandbox::{Config, Sandbox};
use serde_json::{json, Value};

use crate::{TestEnv, Workers};

pub const MIDTRANS_KEY: &str = "SB-Mid-server-integration-key";

/// The local Midtrans with [`MIDTRANS_KEY`], on a free port; its webhook
/// is set once the app's address is known.
pub async fn sandbox() -> Sandbox {
    Sandbox::start(Config {
        server_key: MIDTRANS_KEY.into(),
        notification_url: String::new(),
        listen: "127.0.0.1:0".parse().unwrap(),
        public_base: None,
    })
    .await
    .unwrap()
}

pub struct Shop {
    pub env: TestEnv,
    pub midtrans: Sandbox,
    pub workers: Option<Workers>,
}

impl Shop {
    pub async fn start() -> Shop {
        Self::start_with(&[]).await
    }

    pub async fn start_with(variables: &[(&str, &str)]) -> Shop {
        let midtrans = sandbox().await;
        let mut vars = vec![
            ("midtrans_server_key", MIDTRANS_KEY),
            ("midtrans_snap_base_url", midtrans.base.as_str()),
            ("midtrans_api_base_url", midtrans.base.as_str()),
            ("rate_limit", "1000/10"),
        ];
        vars.extend_from_slice(variables);
        let env = TestEnv::start_with(&vars).await;
        midtrans.set_notification_url(&format!("{}/payment/webhook", env.base));
        let workers = Some(env.start_workers().await);
        Shop {
            env,
            midtrans,
            workers,
        }
    }

    /// Places an order; its id.
    pub async fn order(&self, token: &str, lines: &[(i64, i64)]) -> i64 {
        let body = json!({"items": lines.iter().map(|(p, q)| json!({"product_id": p, "quantity": q})).collect::<Vec<_>>()});
        let r = self
            .env
            .call("POST", "/order", Some(token), Some(body))
            .await;
        assert_eq!(r.status, 201, "{:?}", r.json);
        r.json["order"]["id"].as_i64().unwrap()
    }

    /// Initiates the payment; (gateway order id, Snap token, redirect URL).
    pub async fn initiate(&self, token: &str, order: i64) -> (String, String, String) {
        let r = self
            .env
            .call(
                "POST",
                "/payment/initiate",
                Some(token),
                Some(json!({"order_id": order, "customer_name": "Buyer", "customer_email": "buyer@example.com"})),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.json);
        let payment = self
            .env
            .call("GET", &format!("/payment/order/{order}"), Some(token), None)
            .await;
        (
            payment.json["payment"]["gateway_order_id"]
                .as_str()
                .unwrap()
                .to_string(),
            r.json["gateway_token"].as_str().unwrap().to_string(),
            r.json["gateway_redirect_url"].as_str().unwrap().to_string(),
        )
    }

    /// The sandbox's script API: records a status and notifies the app.
    pub async fn simulate(
        &self,
        gateway_order_id: &str,
        status: &str,
        fraud: Option<&str>,
    ) -> Value {
        let mut body = json!({"transaction_status": status});
        if let Some(f) = fraud {
            body["fraud_status"] = json!(f);
        }
        let r = self
            .env
            .http
            .post(format!(
                "{}/simulate/{gateway_order_id}",
                self.midtrans.base
            ))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    pub async fn order_status(&self, token: &str, order: i64) -> String {
        let r = self
            .env
            .call("GET", &format!("/order/{order}"), Some(token), None)
            .await;
        r.json["order"]["status"].as_str().unwrap().to_string()
    }

    /// Waits until the order has `status` (the worker is asynchronous).
    pub async fn wait_for_order(&self, token: &str, order: i64, status: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let now = self.order_status(token, order).await;
            if now == status {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "order {order} stayed {now}, not {status}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until SQL `count_sql` (one bigint) reaches `n`.
    pub async fn wait_for_count(&self, count_sql: &str, n: i64) {
        let client = self.env.db.client().await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got: i64 = client.query_one(count_sql, &[]).await.unwrap().get(0);
            if got == n {
                return;
            }
            assert!(Instant::now() < deadline, "{count_sql}: {got}, not {n}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the relay's leader publishes every `--maintenance-every-secs`:
    /// the maintenance worker runs one sweep.
    pub async fn tick(&self) {
        let mut conn = redis::Client::open(self.env.redis.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let _: i64 = redis::cmd("PUBLISH")
            .arg("maintenance.tick")
            .arg(r#"{"type":"maintenance.tick","at":"test"}"#)
            .query_async(&mut conn)
            .await
            .unwrap();
    }

    /// Moves an order's clock past its end: its attempts' Snap windows
    /// closed, and the sweep due to look at it now (its unpaid TTL is the
    /// test's `order_unpaid_ttl_secs`).
    pub async fn make_due(&self, order: i64) {
        let client = self.env.db.client().await;
        client
            .execute(
                "UPDATE payment_attempts a SET expires_at = (now() AT TIME ZONE 'UTC') - interval '1 second' \
                 FROM payments p WHERE p.id = a.payment_id AND p.order_id = $1",
                &[&order],
            )
            .await
            .unwrap();
        client
            .execute(
                "UPDATE orders SET created_at = created_at - interval '1 day', \
                 next_check_at = now() AT TIME ZONE 'UTC' WHERE id = $1",
                &[&order],
            )
            .await
            .unwrap();
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let client = self.env.db.client().await;
        client.query_one(sql, &[]).await.unwrap().get(0)
    }
}

/// The relay in-process with Kafka off (`cargo xtask up` without
/// KAFKA_BROKERS): it re-publishes to Redis every event no consumer
/// acknowledged within a second.
pub struct Relay {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Relay {
    pub fn start(env: &TestEnv) -> Relay {
        Relay::start_with(env, &[])
    }

    /// With more command-line arguments (`--maintenance-every-secs 0`: no
    /// sweep retries what a test wants to see left undone).
    pub fn start_with(env: &TestEnv, args: &[&str]) -> Relay {
        let redis = env.redis.url();
        let base = [
            "relay",
            "--database-url",
            &env.db.url,
            "--redis-url",
            &redis,
            "--kafka-brokers",
            "off",
            "--redeliver-after-secs",
            "1",
            "--redeliver-max-delay-secs",
            "1",
            "--http-addr",
            "127.0.0.1:0",
        ];
        let config = <relay::config::Config as clap::Parser>::parse_from(
            base.iter().chain(args.iter()).copied(),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(relay::relay::run(config, async {
            let _ = stopped.await;
        }));
        Relay { stop, task }
    }

    /// Stops it as SIGTERM would; its error, if it failed.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}
