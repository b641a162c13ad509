//! A tansu Kafka-protocol broker with in-memory storage
//! (`cargo install tansu --locked --features dynostore`; `.ci/run` does it).

use std::io;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::{free_port, wait_listening, KillOnDrop};

pub struct KafkaBroker {
    pub port: u16,
    child: Option<KillOnDrop>,
}

/// `tansu` from `$TANSU`, `~/.cargo/bin` or the PATH.
pub fn tansu_binary() -> PathBuf {
    if let Some(t) = std::env::var_os("TANSU") {
        return t.into();
    }
    let cargo_bin =
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo/bin/tansu");
    if cargo_bin.exists() {
        cargo_bin
    } else {
        "tansu".into()
    }
}

impl KafkaBroker {
    pub fn start() -> io::Result<KafkaBroker> {
        let mut broker = KafkaBroker {
            port: free_port()?,
            child: None,
        };
        broker.resume()?;
        Ok(broker)
    }

    /// `host:port` for `bootstrap.servers` (an IPv4 literal: tansu advertises
    /// what it is given, and librdkafka may resolve `localhost` to ::1).
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port. In-memory storage: a restarted
    /// broker has no topics and no data, like a replaced node with an empty disk.
    pub fn resume(&mut self) -> io::Result<()> {
        let url = format!("tcp://{}", self.bootstrap());
        let log =
            std::fs::File::create(std::env::temp_dir().join(format!("tansu-{}.log", self.port)))?;
        let child = Command::new(tansu_binary())
            .args([
                "broker",
                "--cluster-id",
                "test-cluster",
                "--listener-url",
                &url,
            ])
            .args([
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("starting tansu (.ci/run installs it): {e}"),
                )
            })?;
        self.child = Some(KillOnDrop(child));
        wait_listening(self.port, "tansu", Duration::from_secs(30))
    }

    /// Kills the broker (SIGKILL, as a crash would).
    pub fn stop(&mut self) {
        self.child = None;
    }
}
