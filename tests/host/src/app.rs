//! Loading an application: manifest, variables, components, triggers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use tokio::net::TcpListener;
use wasmtime::component::Component;
use wasmtime::Engine;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::compose::load_component;
use crate::http_trigger::{HttpApp, RouteEntry};
use crate::key_value_host::KvStores;
use crate::manifest::{Manifest, Route};
use crate::outbound::AllowedHosts;
use crate::redis_bindings::RedisHandlerPre;
use crate::redis_trigger::{RedisTriggerApp, Subscription};
use crate::runtime::{compile, engine, linker_for, ComponentConfig, Services};
use crate::runtime_config::RuntimeConfig;
use crate::stats::StatsSnapshot;
use crate::stdio::LogSettings;
use crate::variables::Resolved;

pub struct AppOptions {
    pub manifest: PathBuf,
    /// Values for `SPIN_VARIABLE_*` names; consulted before the process
    /// environment (tests use this instead of mutating the environment).
    pub env: HashMap<String, String>,
    /// Read `SPIN_VARIABLE_*` from the process environment too.
    pub use_process_env: bool,
    /// `spin up -c`: run only these components' triggers (all when empty).
    pub components: Vec<String>,
    /// Check released Postgres connections for open transactions.
    pub check_transactions: bool,
    /// Where guest stdout/stderr go (Spin: `.spin/logs`, echoed).
    pub logs: LogSettings,
    /// `spin up --runtime-config-file` (key-value stores).
    pub runtime_config: RuntimeConfig,
}

pub struct App {
    http: Option<Arc<HttpApp>>,
    redis: Option<Arc<RedisTriggerApp>>,
    services: Arc<Services>,
    engine: Engine,
}

/// What loading needs while it walks the triggers.
struct Loader<'a> {
    manifest: &'a Manifest,
    base: &'a Path,
    variables: &'a Resolved,
    engine: &'a Engine,
}

impl Loader<'_> {
    fn config(&self, id: &str) -> anyhow::Result<Arc<ComponentConfig>> {
        let def = &self.manifest.component[id];
        let hosts = def
            .allowed_outbound_hosts
            .iter()
            .map(|h| self.variables.expand(h))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Arc::new(ComponentConfig {
            id: id.to_string(),
            variables: self.variables.component_values(&def.variables)?,
            templated: def
                .variables
                .iter()
                .filter(|(_, template)| template.contains("{{"))
                .map(|(name, _)| name.clone())
                .collect(),
            environment: def.environment.clone().into_iter().collect(),
            allowed: AllowedHosts::parse(&hosts).with_context(|| format!("component {id}"))?,
            key_value_stores: def.key_value_stores.iter().cloned().collect(),
        }))
    }

    fn component(&self, id: &str) -> anyhow::Result<Component> {
        let bytes = load_component(self.base, id, &self.manifest.component[id])?;
        compile(self.engine, &bytes).with_context(|| format!("compiling component {id}"))
    }
}

impl App {
    pub fn load(options: AppOptions) -> anyhow::Result<App> {
        let manifest = Manifest::load(&options.manifest)?;
        let base = options
            .manifest
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        let env = options.env.clone();
        let use_process_env = options.use_process_env;
        let variables = Resolved::resolve(&manifest.variables, |name| {
            env.get(name)
                .cloned()
                .or_else(|| use_process_env.then(|| std::env::var(name).ok()).flatten())
        })?;
        for id in &options.components {
            if !manifest.component.contains_key(id) {
                bail!("unknown component {id:?}");
            }
        }
        let selected =
            |id: &str| options.components.is_empty() || options.components.iter().any(|c| c == id);
        let engine = engine()?;
        let loader = Loader {
            manifest: &manifest,
            base: &base,
            variables: &variables,
            engine: &engine,
        };
        for (id, def) in &manifest.component {
            options
                .runtime_config
                .check_labels(id, &def.key_value_stores)?;
        }
        let services = Arc::new(Services {
            kv: KvStores::from_config(&options.runtime_config),
            check_transactions: options.check_transactions,
            logs: options.logs.clone(),
            ..Services::default()
        });

        let mut routes = Vec::new();
        let mut http_handlers = HashMap::new();
        for trigger in manifest
            .trigger
            .http
            .iter()
            .filter(|t| selected(&t.component))
        {
            let id = &trigger.component;
            if let Route::Path(route) = &trigger.route {
                routes.push(RouteEntry::new(route, id));
            }
            if http_handlers.contains_key(id) {
                continue;
            }
            let component = loader.component(id)?;
            let linker = linker_for(&engine, &component)?;
            let pre = ProxyPre::new(linker.instantiate_pre(&component)?)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("component {id} is not a wasi:http handler"))?;
            http_handlers.insert(id.clone(), (pre, loader.config(id)?));
        }

        let mut listeners: HashMap<String, Vec<Subscription>> = HashMap::new();
        let mut redis_handlers = HashMap::new();
        for trigger in manifest
            .trigger
            .redis
            .iter()
            .filter(|t| selected(&t.component))
        {
            let id = &trigger.component;
            let address = match (&trigger.address, &manifest.application.trigger.redis) {
                (Some(a), _) => variables.expand(a)?,
                (None, Some(defaults)) => variables.expand(&defaults.address)?,
                (None, None) => bail!("redis trigger for {id} has no address"),
            };
            listeners.entry(address).or_default().push(Subscription {
                channel: variables.expand(&trigger.channel)?,
                component: id.clone(),
            });
            if redis_handlers.contains_key(id) {
                continue;
            }
            let component = loader.component(id)?;
            let linker = linker_for(&engine, &component)?;
            let pre = RedisHandlerPre::new(linker.instantiate_pre(&component)?)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("component {id} is not a Redis handler"))?;
            redis_handlers.insert(id.clone(), (pre, loader.config(id)?));
        }

        let http = (!routes.is_empty()).then(|| {
            Arc::new(HttpApp {
                app_name: manifest.application.name.clone(),
                app_version: manifest.application.version.clone().unwrap_or_default(),
                routes,
                handlers: http_handlers,
                services: services.clone(),
            })
        });
        let redis = (!listeners.is_empty()).then(|| {
            Arc::new(RedisTriggerApp {
                listeners,
                handlers: redis_handlers,
                services: services.clone(),
            })
        });
        Ok(App {
            http,
            redis,
            services,
            engine,
        })
    }

    pub fn has_http(&self) -> bool {
        self.http.is_some()
    }

    /// Serves the HTTP trigger until the listener fails.
    pub async fn serve(&self, listener: TcpListener) -> anyhow::Result<()> {
        match &self.http {
            Some(http) => http.clone().serve(listener).await,
            None => bail!("the selected components have no HTTP trigger"),
        }
    }

    /// Runs the Redis triggers; returns (with an error) when a connection drops.
    pub async fn run_redis(&self) -> anyhow::Result<()> {
        match &self.redis {
            Some(redis) => redis.clone().run().await,
            None => std::future::pending().await,
        }
    }

    /// Every trigger; the first to end ends the app, as under `spin up`.
    pub async fn run(&self, listener: Option<TcpListener>) -> anyhow::Result<()> {
        let http = async {
            match listener {
                Some(l) if self.http.is_some() => self.serve(l).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            r = http => r,
            r = self.run_redis() => r,
        }
    }

    /// Instantiates each HTTP component `n` times (what every request pays
    /// before the handler runs); returns the durations, per component.
    pub async fn measure_instantiation(
        &self,
        n: usize,
    ) -> anyhow::Result<Vec<(String, Vec<std::time::Duration>)>> {
        let Some(http) = &self.http else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (id, (pre, config)) in &http.handlers {
            let mut times = Vec::with_capacity(n);
            for _ in 0..n {
                let start = std::time::Instant::now();
                let mut store =
                    crate::runtime::new_store(pre.engine(), config.clone(), self.services.clone());
                pre.instantiate_async(&mut store).await?;
                times.push(start.elapsed());
            }
            out.push((id.clone(), times));
        }
        Ok(out)
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.services.stats.snapshot()
    }

    pub fn services(&self) -> Arc<Services> {
        self.services.clone()
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}
