//! A private redis-server on a free port, so a test can stop and restart it
//! and a benchmark has a Redis of its own.

use std::io;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{free_port, wait_listening, KillOnDrop};

pub struct RedisServer {
    pub port: u16,
    child: Option<KillOnDrop>,
}

impl RedisServer {
    pub fn start() -> io::Result<RedisServer> {
        let mut server = RedisServer {
            port: free_port()?,
            child: None,
        };
        server.resume()?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port; nothing is persisted.
    pub fn resume(&mut self) -> io::Result<()> {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(KillOnDrop(child));
        wait_listening(self.port, "redis-server", Duration::from_secs(30))
    }

    /// Kills the server (as a crash would).
    pub fn stop(&mut self) {
        self.child = None;
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
