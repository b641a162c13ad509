//! Cache-aside over Spin's outbound Redis, read through its key-value store.
//!
//! The cache is an optimisation, never a dependency: every failure is logged
//! and treated as a miss, so reads keep working when Redis is down. Spin opens
//! a new TCP connection per `Connection::open`, so one request opens at most
//! one, lazily, and stops trying after the first failure.
//!
//! Plain reads ([`Cache::get`]) go through the key-value store [`KV_STORE`]
//! instead: Spin backs it with the same Redis (runtime config
//! `[key_value_store.cache] type = "redis"`) through one connection manager
//! per process, so a hit costs no TCP connect and no `redis_url` read
//! (spin-facts.md: 12 100 vs 4 700–5 200 req/s). Scripts, fills and
//! publishes stay on outbound Redis (the store has no TTL and no scripts).

use spin_sdk::key_value::Store;
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

/// The key-value store label the cached reads use; a component that calls
/// [`Cache::get`] lists it in `key_value_stores`.
pub const KV_STORE: &str = "cache";

pub struct Cache {
    /// `None`: the `redis_url` setting, read only when a connection is needed.
    url: Option<String>,
    state: State,
    kv: Kv,
    /// What stops working when Redis does, for the log line.
    purpose: &'static str,
}

enum Kv {
    Unopened,
    Open(Store),
    Down,
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

    /// The cache whose `redis_url` is read only if the request writes or
    /// misses: a hit read through the store reads no variable.
    pub fn lazy() -> Cache {
        Cache {
            url: None,
            state: State::Unopened,
            kv: Kv::Unopened,
            purpose: "cache",
        }
    }

    /// [`Cache::lazy`] whose failures are logged as stopping `purpose` (a
    /// service that takes its caller's rate-limit token on it too).
    pub fn lazy_for(purpose: &'static str) -> Cache {
        Cache {
            purpose,
            ..Cache::lazy()
        }
    }

    /// A connection used for something other than caching (the rate
    /// limiter), so that its failures are logged as what they stop.
    pub fn for_purpose(url: String, purpose: &'static str) -> Cache {
        Cache {
            url: Some(url),
            state: State::Unopened,
            kv: Kv::Unopened,
            purpose,
        }
    }

    fn open(&self) -> Result<Connection, String> {
        let url = match &self.url {
            Some(url) => url.clone(),
            None => crate::config::get(&platform_core::setting::REDIS_URL)
                .map_err(|e| format!("{e:?}"))?,
        };
        Connection::open(&url).map_err(|e| format!("{e:?}"))
    }

    fn conn(&mut self) -> Option<&Connection> {
        if let State::Unopened = self.state {
            self.state = match self.open() {
                Ok(c) => State::Open(c),
                Err(e) => {
                    crate::log::warn(
                        &format!("redis unavailable, serving without the {}", self.purpose),
                        &e,
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

    fn store(&mut self) -> Option<&Store> {
        if let Kv::Unopened = self.kv {
            self.kv = match Store::open(KV_STORE) {
                Ok(s) => Kv::Open(s),
                Err(e) => {
                    crate::log::warn(
                        "key-value store unavailable, reading without the cache",
                        &format!("{KV_STORE}: {e:?}"),
                    );
                    Kv::Down
                }
            };
        }
        match &self.kv {
            Kv::Open(s) => Some(s),
            _ => None,
        }
    }

    /// The entry at `key`, read through the key-value store (no TCP
    /// connect); `None` on a miss or when the store cannot answer.
    pub fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        let result = self.store()?.get(key);
        match result {
            Ok(v) => v,
            Err(e) => {
                crate::log::warn(
                    "key-value read failed, reading without the cache",
                    &format!("GET: {e:?}"),
                );
                self.kv = Kv::Down;
                None
            }
        }
    }

    /// Whether a read through the store failed (a `None` was not a miss).
    pub fn read_failed(&self) -> bool {
        matches!(self.kv, Kv::Down)
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

    /// [`Cache::eval_values`] for a script that answers integers (the rate
    /// limiter's): those integers, or `None` when Redis could not answer.
    pub fn eval_ints(&mut self, script: &str, keys: &[&str], args: &[String]) -> Option<Vec<i64>> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let reply = self.eval_values(script, keys, &args)?;
        Some(
            reply
                .iter()
                .filter_map(|r| match r {
                    RedisResult::Int64(n) => Some(*n),
                    _ => None,
                })
                .collect(),
        )
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
