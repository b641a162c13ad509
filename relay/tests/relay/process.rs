//! The relay binary as its tests run it: a process with its own metrics
//! port and a JSON log kept for when a test fails; killed on drop.

use std::process::Command;
use std::time::Duration;

use integration::{RedisServer, TestDatabase};
use test_support::{free_port, wait_listening, KillOnDrop};

pub struct Relay {
    pub metrics_port: u16,
    pub child: KillOnDrop,
}

/// Each relay's JSON log, kept for when a test fails.
fn log_file(port: u16) -> std::fs::File {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("relay-logs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::File::create(dir.join(format!("relay-{port}.log"))).unwrap()
}

/// The relay on `db` and `redis`, producing to `kafka_brokers` (`off`: Kafka
/// off), redelivering only after an hour unless `extra` says otherwise.
pub fn start(
    db: &TestDatabase,
    redis: &RedisServer,
    kafka_brokers: &str,
    extra: &[(&str, &str)],
) -> Relay {
    let metrics_port = free_port().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_relay"));
    cmd.env("DATABASE_URL", &db.url)
        .env("REDIS_URL", redis.url())
        .env("KAFKA_BROKERS", kafka_brokers)
        .env("RELAY_HTTP_ADDR", format!("127.0.0.1:{metrics_port}"))
        .env("RELAY_REDELIVER_AFTER_SECS", "3600")
        .env("RUST_LOG", "info")
        .stdout(log_file(metrics_port));
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let child = KillOnDrop(cmd.spawn().unwrap());
    wait_listening(metrics_port, "relay", Duration::from_secs(30)).unwrap();
    Relay {
        metrics_port,
        child,
    }
}

impl Relay {
    /// The value of the series `name` (labels included), 0 when absent.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = reqwest::get(format!("http://127.0.0.1:{}/metrics", self.metrics_port))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }
}
