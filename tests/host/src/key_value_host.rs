//! `fermyon:spin/key-value@2.0.0` backed by Redis, as Spin 3.6.3's
//! `key-value-redis` does it: one connection manager per store for the whole
//! process (made on the first open, reconnecting by itself), a `PING` on every
//! open whose failure is ignored, raw keys (no prefix) so a store sees what
//! outbound Redis wrote, and `AccessDenied` for a label the component does
//! not list in `key_value_stores`.

use std::collections::HashMap;

use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;
use wasmtime::component::Resource;

use crate::bindings::fermyon::spin2_0_0::key_value::{Error, Host, HostStore};
use crate::runtime::HostState;
use crate::runtime_config::RuntimeConfig;
use crate::stats::Stats;

/// Spin's per-instance table of open stores.
const MAX_OPEN_STORES: usize = 256;

/// The process's stores, by label.
#[derive(Default)]
pub struct KvStores {
    stores: HashMap<String, Backend>,
}

struct Backend {
    url: String,
    connection: OnceCell<ConnectionManager>,
}

impl KvStores {
    pub fn from_config(config: &RuntimeConfig) -> KvStores {
        KvStores {
            stores: config
                .key_value_stores
                .iter()
                .map(|(label, url)| {
                    let backend = Backend {
                        url: url.clone(),
                        connection: OnceCell::new(),
                    };
                    (label.clone(), backend)
                })
                .collect(),
        }
    }

    async fn connection(&self, label: &str) -> Result<ConnectionManager, Error> {
        let Some(backend) = self.stores.get(label) else {
            return Err(Error::NoSuchStore);
        };
        backend
            .connection
            .get_or_try_init(|| async {
                redis::Client::open(backend.url.as_str())?
                    .get_connection_manager()
                    .await
            })
            .await
            .cloned()
            .map_err(|e| Error::Other(e.to_string()))
    }
}

/// An open store: a handle on the process's connection manager.
pub struct KvStore {
    conn: ConnectionManager,
}

impl Host for HostState {}

impl HostState {
    fn kv(&mut self, store: &Resource<KvStore>) -> wasmtime::Result<ConnectionManager> {
        Stats::bump(&self.services.stats.key_value_calls);
        Ok(self.table.get(store)?.conn.clone())
    }
}

fn other(e: redis::RedisError) -> Error {
    Error::Other(e.to_string())
}

impl HostStore for HostState {
    async fn open(&mut self, label: String) -> wasmtime::Result<Result<Resource<KvStore>, Error>> {
        Stats::bump(&self.services.stats.key_value_calls);
        if !self.config.key_value_stores.contains(&label) {
            return Ok(Err(Error::AccessDenied));
        }
        let mut conn = match self.services.kv.connection(&label).await {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        // Spin pings on open and ignores the answer: the manager reconnects.
        let _ = redis::cmd("PING").query_async::<()>(&mut conn).await;
        if self.kv_open >= MAX_OPEN_STORES {
            return Ok(Err(Error::StoreTableFull));
        }
        self.kv_open += 1;
        Ok(Ok(self.table.push(KvStore { conn })?))
    }

    async fn get(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let mut conn = self.kv(&store)?;
        Ok(redis::cmd("GET")
            .arg(key)
            .query_async(&mut conn)
            .await
            .map_err(other))
    }

    async fn set(
        &mut self,
        store: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let mut conn = self.kv(&store)?;
        Ok(redis::cmd("SET")
            .arg(key)
            .arg(value)
            .query_async(&mut conn)
            .await
            .map_err(other))
    }

    async fn delete(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        let mut conn = self.kv(&store)?;
        Ok(redis::cmd("DEL")
            .arg(key)
            .query_async::<i64>(&mut conn)
            .await
            .map(|_| ())
            .map_err(other))
    }

    async fn exists(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        let mut conn = self.kv(&store)?;
        Ok(redis::cmd("EXISTS")
            .arg(key)
            .query_async(&mut conn)
            .await
            .map_err(other))
    }

    async fn get_keys(
        &mut self,
        store: Resource<KvStore>,
    ) -> wasmtime::Result<Result<Vec<String>, Error>> {
        let mut conn = self.kv(&store)?;
        Ok(redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut conn)
            .await
            .map_err(other))
    }

    async fn drop(&mut self, store: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        self.kv_open = self.kv_open.saturating_sub(1);
        Ok(())
    }
}
