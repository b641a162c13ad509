//! Per-instance state and the linker: WASI 0.2, wasi:http, and the Spin
//! interfaces of spin-sdk 5.2. Anything else a component imports is linked
//! as a trap (documented in the README).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use deadpool_postgres::Object;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

use crate::key_value_host::KvStores;
use crate::outbound::{default_port, AllowedHosts};
use crate::pg::PgPools;
use crate::stats::Stats;
use crate::stdio::{ComponentOutput, LogFiles, LogSettings};

/// What one component may see and reach.
#[derive(Debug, Clone, Default)]
pub struct ComponentConfig {
    pub id: String,
    pub variables: HashMap<String, String>,
    /// Variables whose template names an application variable (`{{ v }}`):
    /// resolved by Spin's providers on every read, so counted apart.
    pub templated: HashSet<String>,
    pub environment: Vec<(String, String)>,
    pub allowed: AllowedHosts,
    /// `key_value_stores`: the labels `Store::open` may name.
    pub key_value_stores: HashSet<String>,
}

/// Shared by every instance of the process: pools and counters.
pub struct Services {
    pub pg: PgPools,
    pub stats: Stats,
    /// Check each released Postgres connection for an open transaction (one
    /// extra statement per connection; benchmarks turn it off to cost what
    /// Spin costs).
    pub check_transactions: bool,
    /// Where guest stdout/stderr go.
    pub logs: LogSettings,
    pub log_files: LogFiles,
    /// The runtime config's key-value stores, shared by every instance.
    pub kv: KvStores,
}

impl Default for Services {
    fn default() -> Self {
        Services {
            pg: PgPools::default(),
            stats: Stats::default(),
            check_transactions: true,
            logs: LogSettings::default(),
            log_files: LogFiles::default(),
            kv: KvStores::default(),
        }
    }
}

pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    pub(crate) table: ResourceTable,
    hooks: OutboundHttp,
    pub(crate) config: Arc<ComponentConfig>,
    pub(crate) services: Arc<Services>,
    pub(crate) pg_clients: Vec<Option<Object>>,
    pub(crate) redis_open: usize,
    pub(crate) kv_open: usize,
}

impl HostState {
    pub fn new(config: Arc<ComponentConfig>, services: Arc<Services>) -> HostState {
        let mut wasi = WasiCtx::builder();
        wasi.stdout(ComponentOutput::new(&services, &config.id, "stdout"));
        wasi.stderr(ComponentOutput::new(&services, &config.id, "stderr"));
        for (k, v) in &config.environment {
            wasi.env(k, v);
        }
        HostState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutboundHttp {
                config: config.clone(),
                services: services.clone(),
            },
            config,
            services,
            pg_clients: Vec::new(),
            redis_open: 0,
            kv_open: 0,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Outbound HTTP with `allowed_outbound_hosts` enforced: a refused request
/// gets `ErrorCode::HttpRequestDenied`, as on Spin.
struct OutboundHttp {
    config: Arc<ComponentConfig>,
    services: Arc<Services>,
}

type IoFuture = Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>;

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: hyper::Request<WasiBody>,
        options: Option<RequestOptions>,
        _io: IoFuture,
    ) -> Box<
        dyn Future<Output = wasmtime_wasi_http::Result<(hyper::Response<WasiBody>, IoFuture)>>
            + Send,
    > {
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
        let host = uri.host().unwrap_or_default().to_ascii_lowercase();
        let port = uri
            .port_u16()
            .or_else(|| default_port(&scheme))
            .unwrap_or(0);
        // Service chaining (`*.spin.internal`) is not implemented by this host.
        let allowed =
            !host.ends_with(".spin.internal") && self.config.allowed.allows(&scheme, &host, port);
        if !allowed {
            Stats::bump(&self.services.stats.outbound_denied);
            tracing::warn!(component = %self.config.id, %scheme, %host, port, "outbound HTTP denied");
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        Stats::bump(&self.services.stats.outbound_http);
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as IoFuture,
            ))
        })
    }
}

/// The process-wide engine: compiled components are only valid within one.
pub fn engine() -> anyhow::Result<Engine> {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    if let Some(e) = ENGINE.get() {
        return Ok(e.clone());
    }
    let engine = Engine::new(&pooled_config()).or_else(|e| {
        tracing::warn!("pooling allocator unavailable ({e}); allocating on demand");
        Engine::new(&wasmtime::Config::new())
    })?;
    Ok(ENGINE.get_or_init(|| engine).clone())
}

/// Spin 3.6.3's pooling allocator, number for number (its
/// `crates/core/src/lib.rs` with `SPIN_MAX_INSTANCE_COUNT` = 1000): sized for
/// about 1000 concurrent instances (a composed component is one component
/// instance with several core instances and memories), and keeping the first
/// 2 MiB of each linear memory and 512 KiB of each table resident when an
/// instance ends, so the next request does not fault those pages back in.
fn pooled_config() -> wasmtime::Config {
    const MB: usize = 1 << 20;
    let max_instances = 1_000;
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    pool.total_component_instances(max_instances)
        .total_memories(max_instances)
        .total_tables(2 * max_instances)
        .total_stacks(max_instances)
        .total_core_instances(4 * max_instances)
        .table_elements(100_000)
        .max_component_instance_size(10 * MB)
        .max_core_instance_size(10 * MB)
        .max_core_instances_per_component(200)
        .max_tables_per_component(64)
        .max_memories_per_component(32)
        .max_tables_per_module(2)
        .max_memories_per_module(2)
        .max_memory_size(4 << 30)
        .linear_memory_keep_resident(2 * MB)
        .table_keep_resident(MB / 2);
    let mut config = wasmtime::Config::new();
    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    config
}

/// Compiles a component once per process (tests load the same app many times).
pub fn compile(engine: &Engine, bytes: &[u8]) -> anyhow::Result<Component> {
    static CACHE: OnceLock<Mutex<HashMap<u64, Component>>> = OnceLock::new();
    let key = {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut h);
        h.finish()
    };
    let cache = CACHE.get_or_init(Default::default);
    if let Some(c) = cache
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .get(&key)
    {
        return Ok(c.clone());
    }
    let component = Component::from_binary(engine, bytes)?;
    cache
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .insert(key, component.clone());
    Ok(component)
}

/// A linker with everything the host implements, then traps for the rest of
/// `component`'s imports (instantiation succeeds; calling one traps).
pub fn linker_for(engine: &Engine, component: &Component) -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    crate::bindings::Host_::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    stub_unimplemented(&mut linker, engine, component)?;
    Ok(linker)
}

/// WASI interfaces wasmtime provides (any 0.2.x the component names).
const WASI_PROVIDED: &[&str] = &[
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
    "wasi:sockets/",
    "wasi:http/",
];
/// Spin interfaces this host implements.
const SPIN_PROVIDED: &[&str] = &[
    "fermyon:spin/variables@2.0.0",
    "fermyon:spin/redis@2.0.0",
    "fermyon:spin/key-value@2.0.0",
    "spin:postgres/postgres@4.0.0",
];

/// Links every other import (SQLite, MySQL, MQTT, LLM, …) as
/// functions that trap when called. Not `define_unknown_imports_as_traps`:
/// it matches names exactly, so it would shadow the semver-compatible WASI
/// the linker already has (`wasi:cli/stderr@0.2.6` vs wasmtime's 0.2.12).
fn stub_unimplemented(
    linker: &mut Linker<HostState>,
    engine: &Engine,
    component: &Component,
) -> anyhow::Result<()> {
    use wasmtime::component::types::ComponentItem;
    use wasmtime::component::ResourceType;
    for (name, import) in component.component_type().imports(engine) {
        if WASI_PROVIDED.iter().any(|p| name.starts_with(p)) || SPIN_PROVIDED.contains(&name) {
            continue;
        }
        let ComponentItem::ComponentInstance(instance) = import.ty else {
            anyhow::bail!("unsupported top-level import {name}");
        };
        let mut stub = linker.instance(name)?;
        for (export, item) in instance.exports(engine) {
            let qualified = format!("{name}#{export}");
            match item.ty {
                ComponentItem::ComponentFunc(_) => stub.func_new(export, move |_, _, _, _| {
                    wasmtime::bail!("`{qualified}` is not implemented by the project host")
                })?,
                ComponentItem::Resource(_) => {
                    stub.resource(export, ResourceType::host::<()>(), |_, _| Ok(()))?
                }
                _ => {}
            }
        }
    }
    Ok(())
}

pub fn new_store(
    engine: &Engine,
    config: Arc<ComponentConfig>,
    services: Arc<Services>,
) -> Store<HostState> {
    Stats::bump(&services.stats.instances);
    Store::new(engine, HostState::new(config, services))
}
