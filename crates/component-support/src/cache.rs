//! Cache-aside over Spin's outbound Redis.
//!
//! The cache is an optimisation, never a dependency: every failure is logged
//! and treated as a miss, so reads keep working when Redis is down. Spin opens
//! a new TCP connection per `Connection::open`, so one request opens at most
//! one, lazily, and stops trying after the first failure.

use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

pub struct Cache {
    url: String,
    state: State,
    /// What stops working when Redis does, for the log line.
    purpose: &'static str,
}

enum State {
    Unopened,
    Open(Connection),
    Down,
}

impl Cache {
    pub fn new(url: String) -> Cache {
        Cache::for_purpose(url, "cache")
    }

    /// A connection used for something other than caching (the rate
    /// limiter), so that its failures are logged as what they stop.
    pub fn for_purpose(url: String, purpose: &'static str) -> Cache {
        Cache {
            url,
            state: State::Unopened,
            purpose,
        }
    }

    fn conn(&mut self) -> Option<&Connection> {
        if let State::Unopened = self.state {
            self.state = match Connection::open(&self.url) {
                Ok(c) => State::Open(c),
                Err(e) => {
                    crate::log::warn(
                        &format!("redis unavailable, serving without the {}", self.purpose),
                        &format!("{e:?}"),
                    );
                    State::Down
                }
            };
        }
        match &self.state {
            State::Open(c) => Some(c),
            _ => None,
        }
    }

    fn failed(&mut self, op: &str, err: spin_sdk::redis::Error) {
        crate::log::warn(
            &format!("redis command failed, serving without the {}", self.purpose),
            &format!("{op}: {err:?}"),
        );
        self.state = State::Down;
    }

    pub fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        let result = self.conn()?.get(key);
        match result {
            Ok(v) => v,
            Err(e) => {
                self.failed("GET", e);
                None
            }
        }
    }

    /// `SET key value EX ttl`: a writer's fresh value, replacing what is there.
    pub fn put(&mut self, key: &str, value: &[u8], ttl_secs: i64) {
        self.set(key, value, ttl_secs, false);
    }

    /// `SET key value EX ttl NX`: a reader's fill, which never overwrites a
    /// writer's value (so a reader that raced a write cannot undo it).
    pub fn fill(&mut self, key: &str, value: &[u8], ttl_secs: i64) {
        self.set(key, value, ttl_secs, true);
    }

    fn set(&mut self, key: &str, value: &[u8], ttl_secs: i64, only_if_absent: bool) {
        let Some(conn) = self.conn() else { return };
        let mut args = vec![
            RedisParameter::Binary(key.as_bytes().to_vec()),
            RedisParameter::Binary(value.to_vec()),
            RedisParameter::Binary(b"EX".to_vec()),
            RedisParameter::Int64(ttl_secs),
        ];
        if only_if_absent {
            args.push(RedisParameter::Binary(b"NX".to_vec()));
        }
        if let Err(e) = conn.execute("SET", &args) {
            self.failed("SET", e);
        }
    }

    /// Runs `script` with `keys` and `args` and returns its (flattened)
    /// reply; `None` when Redis cannot answer. `EVALSHA` first, so a request
    /// sends the script's 40-byte name instead of its text; the text goes
    /// (`EVAL`, which also loads it) only when Redis answers `NOSCRIPT` —
    /// after a restart, a flush or on a new server.
    pub fn eval_values(
        &mut self,
        script: &str,
        keys: &[&str],
        args: &[&[u8]],
    ) -> Option<Vec<RedisResult>> {
        let conn = self.conn()?;
        let sha = sha1_smol::Sha1::from(script).digest().to_string();
        let mut params = vec![
            RedisParameter::Binary(sha.into_bytes()),
            RedisParameter::Int64(keys.len() as i64),
        ];
        params.extend(
            keys.iter()
                .map(|k| RedisParameter::Binary(k.as_bytes().to_vec())),
        );
        params.extend(args.iter().map(|a| RedisParameter::Binary(a.to_vec())));
        let result = match conn.execute("EVALSHA", &params) {
            Err(e) if is_noscript(&e) => {
                params[0] = RedisParameter::Binary(script.as_bytes().to_vec());
                conn.execute("EVAL", &params)
            }
            other => other,
        };
        match result {
            Ok(values) => Some(values),
            Err(e) => {
                self.failed("EVAL", e);
                None
            }
        }
    }

    /// `PUBLISH`: true when Redis took it. A lost publish is not lost work:
    /// the outbox row stays unacknowledged and the relay publishes it again.
    pub fn publish(&mut self, channel: &str, payload: &[u8]) -> bool {
        let Some(conn) = self.conn() else {
            return false;
        };
        match conn.publish(channel, payload) {
            Ok(()) => true,
            Err(e) => {
                self.failed("PUBLISH", e);
                false
            }
        }
    }
}

/// Redis's answer to `EVALSHA` of a script it does not hold. Spin passes
/// the client library's text on (`NOSCRIPT …` from the server, redis-rs
/// calls the kind `NoScriptError`), so match either spelling.
fn is_noscript(e: &spin_sdk::redis::Error) -> bool {
    matches!(e, spin_sdk::redis::Error::Other(m) if m.to_ascii_lowercase().contains("noscript"))
}
