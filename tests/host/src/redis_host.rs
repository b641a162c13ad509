//! `fermyon:spin/redis@2.0.0`, as Spin 3.6.3 implements it: every
//! `Connection::open` is a new TCP connection (no pooling across requests),
//! addresses are checked against `allowed_outbound_hosts`, and `execute`
//! flattens array replies into one list.

use redis::aio::MultiplexedConnection;
use redis::{Cmd, Value};
use wasmtime::component::Resource;

use crate::bindings::fermyon::spin2_0_0::redis::{
    Error, Host, HostConnection, RedisParameter, RedisResult,
};
use crate::runtime::HostState;
use crate::stats::Stats;

/// At most this many open connections per instance (Spin's limit).
const MAX_CONNECTIONS: usize = 1024;

pub struct RedisConnection {
    conn: MultiplexedConnection,
}

impl Host for HostState {}

/// `redis[s]://[user[:pass]@]host[:port][/db]` → (scheme, host, port).
pub fn redis_target(address: &str) -> Option<(String, String, u16)> {
    let (scheme, rest) = address.split_once("://")?;
    if scheme != "redis" && scheme != "rediss" {
        return None;
    }
    let authority = rest.split(['/', '?']).next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => (h, p.parse().ok()?),
        _ => (hostport, crate::outbound::default_port(scheme)?),
    };
    if host.is_empty() {
        return None;
    }
    Some((scheme.to_string(), host.to_string(), port))
}

impl HostState {
    fn redis(
        &mut self,
        conn: &Resource<RedisConnection>,
    ) -> wasmtime::Result<&mut MultiplexedConnection> {
        Stats::bump(&self.services.stats.redis_commands);
        Ok(&mut self.table.get_mut(conn)?.conn)
    }
}

async fn run<T: redis::FromRedisValue>(
    conn: &mut MultiplexedConnection,
    cmd: &Cmd,
) -> Result<T, Error> {
    cmd.query_async::<T>(conn).await.map_err(|e| {
        if e.kind() == redis::ErrorKind::UnexpectedReturnType {
            Error::TypeError
        } else {
            Error::Other(e.to_string())
        }
    })
}

impl HostConnection for HostState {
    async fn open(
        &mut self,
        address: String,
    ) -> wasmtime::Result<Result<Resource<RedisConnection>, Error>> {
        let Some((scheme, host, port)) = redis_target(&address) else {
            return Ok(Err(Error::InvalidAddress));
        };
        if !self.config.allowed.allows(&scheme, &host, port) {
            Stats::bump(&self.services.stats.outbound_denied);
            return Ok(Err(Error::InvalidAddress));
        }
        if self.redis_open >= MAX_CONNECTIONS {
            return Ok(Err(Error::TooManyConnections));
        }
        let client = match redis::Client::open(address.as_str()) {
            Ok(c) => c,
            Err(_) => return Ok(Err(Error::InvalidAddress)),
        };
        let conn = match client.get_multiplexed_async_connection().await {
            Ok(c) => c,
            Err(e) => return Ok(Err(Error::Other(e.to_string()))),
        };
        Stats::bump(&self.services.stats.redis_connections);
        self.redis_open += 1;
        Ok(Ok(self.table.push(RedisConnection { conn })?))
    }

    async fn publish(
        &mut self,
        c: Resource<RedisConnection>,
        channel: String,
        payload: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let conn = self.redis(&c)?;
        Ok(
            run::<i64>(conn, redis::cmd("PUBLISH").arg(channel).arg(payload))
                .await
                .map(|_| ()),
        )
    }

    async fn get(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let conn = self.redis(&c)?;
        Ok(run(conn, redis::cmd("GET").arg(key)).await)
    }

    async fn set(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let conn = self.redis(&c)?;
        Ok(run::<()>(conn, redis::cmd("SET").arg(key).arg(value)).await)
    }

    async fn incr(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
    ) -> wasmtime::Result<Result<i64, Error>> {
        let conn = self.redis(&c)?;
        Ok(run(conn, redis::cmd("INCR").arg(key)).await)
    }

    async fn del(
        &mut self,
        c: Resource<RedisConnection>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<u32, Error>> {
        let conn = self.redis(&c)?;
        Ok(run(conn, redis::cmd("DEL").arg(keys)).await)
    }

    async fn sadd(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> wasmtime::Result<Result<u32, Error>> {
        let conn = self.redis(&c)?;
        Ok(run(conn, redis::cmd("SADD").arg(key).arg(values)).await)
    }

    async fn smembers(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
    ) -> wasmtime::Result<Result<Vec<String>, Error>> {
        let conn = self.redis(&c)?;
        Ok(run(conn, redis::cmd("SMEMBERS").arg(key)).await)
    }

    async fn srem(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> wasmtime::Result<Result<u32, Error>> {
        let conn = self.redis(&c)?;
        Ok(run(conn, redis::cmd("SREM").arg(key).arg(values)).await)
    }

    async fn execute(
        &mut self,
        c: Resource<RedisConnection>,
        command: String,
        arguments: Vec<RedisParameter>,
    ) -> wasmtime::Result<Result<Vec<RedisResult>, Error>> {
        let conn = self.redis(&c)?;
        let mut cmd = redis::cmd(&command);
        for a in arguments {
            match a {
                RedisParameter::Int64(n) => cmd.arg(n),
                RedisParameter::Binary(b) => cmd.arg(b),
            };
        }
        let value: Value = match run(conn, &cmd).await {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let mut out = Vec::new();
        Ok(flatten(value, &mut out).map(|()| out))
    }

    async fn drop(&mut self, c: Resource<RedisConnection>) -> wasmtime::Result<()> {
        self.table.delete(c)?;
        self.redis_open = self.redis_open.saturating_sub(1);
        Ok(())
    }
}

/// Spin's reply mapping: arrays and sets flatten recursively; maps,
/// attributes, verbatim strings and pushes are refused.
fn flatten(value: Value, out: &mut Vec<RedisResult>) -> Result<(), Error> {
    match value {
        Value::Nil => out.push(RedisResult::Nil),
        Value::Int(n) => out.push(RedisResult::Int64(n)),
        Value::BulkString(b) => out.push(RedisResult::Binary(b)),
        Value::SimpleString(s) => out.push(RedisResult::Status(s)),
        Value::Okay => out.push(RedisResult::Status("OK".into())),
        Value::Array(items) | Value::Set(items) => {
            for item in items {
                flatten(item, out)?;
            }
        }
        Value::Double(d) => out.push(RedisResult::Binary(d.to_string().into_bytes())),
        Value::Boolean(b) => out.push(RedisResult::Int64(i64::from(b))),
        Value::ServerError(e) => return Err(Error::Other(format!("{e:?}"))),
        other => return Err(Error::Other(format!("unsupported reply type: {other:?}"))),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_redis_addresses() {
        assert_eq!(
            redis_target("redis://127.0.0.1:6379"),
            Some(("redis".into(), "127.0.0.1".into(), 6379))
        );
        assert_eq!(
            redis_target("redis://:pw@cache.internal/2"),
            Some(("redis".into(), "cache.internal".into(), 6379))
        );
        assert_eq!(
            redis_target("rediss://u:p@h:7000?x=1"),
            Some(("rediss".into(), "h".into(), 7000))
        );
        assert_eq!(redis_target("rediss://h"), None);
        assert_eq!(redis_target("http://h"), None);
        assert_eq!(redis_target("redis://"), None);
    }

    #[test]
    fn flattens_nested_arrays() {
        let mut out = Vec::new();
        flatten(
            Value::Array(vec![
                Value::Int(1),
                Value::Array(vec![Value::BulkString(b"a".to_vec()), Value::Nil]),
            ]),
            &mut out,
        )
        .unwrap();
        assert_eq!(out.len(), 3);
        assert!(matches!(out[0], RedisResult::Int64(1)));
        assert!(matches!(out[2], RedisResult::Nil));
        assert!(flatten(Value::Map(vec![]), &mut Vec::new()).is_err());
    }
}
