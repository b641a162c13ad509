//! A private redis-server per test, so a test can stop and restart it.

use std::process::{Command, Stdio};
use std::time::Duration;

use test_support::{free_port, wait_listening, KillOnDrop};

pub struct RedisServer {
    pub port: u16,
    child: Option<KillOnDrop>,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let mut server = RedisServer {
            port: free_port().unwrap(),
            child: None,
        };
        server.resume();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port.
    pub fn resume(&mut self) {
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
            .spawn()
            .expect("redis-server is installed");
        self.child = Some(KillOnDrop(child));
        wait_listening(self.port, "redis-server", Duration::from_secs(10)).unwrap();
    }

    /// Kills the server (as a crash would).
    pub fn stop(&mut self) {
        self.child = None;
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
