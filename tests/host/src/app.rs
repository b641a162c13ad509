//! Loading an application: manifest, variables, components, triggers.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use tokio::net::TcpListener;
use wasmtime::Engine;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::compose::load_component;
use crate::http_trigger::{HttpApp, RouteEntry};
use crate::manifest::{Manifest, Route};
use crate::outbound::AllowedHosts;
use crate::runtime::{compile, engine, linker_for, ComponentConfig, Services};
use crate::stats::StatsSnapshot;
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
}

pub struct App {
    http: Option<Arc<HttpApp>>,
    services: Arc<Services>,
    engine: Engine,
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
        let selected = |id: &str| options.components.is_empty() || options.components.iter().any(|c| c == id);

        let engine = engine()?;
        let services = Arc::new(Services::default());
        let mut routes = Vec::new();
        let mut handlers = HashMap::new();
        for trigger in &manifest.trigger.http {
            if !selected(&trigger.component) {
                continue;
            }
            if let Route::Path(route) = &trigger.route {
                routes.push(RouteEntry::new(route, &trigger.component));
            }
            if handlers.contains_key(&trigger.component) {
                continue;
            }
            let id = &trigger.component;
            let def = &manifest.component[id];
            let config = Arc::new(ComponentConfig {
                id: id.clone(),
                variables: variables.component_values(&def.variables)?,
                environment: def.environment.clone().into_iter().collect(),
                allowed: AllowedHosts::parse(
                    &def.allowed_outbound_hosts
                        .iter()
                        .map(|h| variables.expand(h))
                        .collect::<anyhow::Result<Vec<_>>>()?,
                )
                .with_context(|| format!("component {id}"))?,
            });
            let bytes = load_component(&base, id, def)?;
            let component = compile(&engine, &bytes).with_context(|| format!("compiling component {id}"))?;
            let linker = linker_for(&engine, &component)?;
            let pre = ProxyPre::new(linker.instantiate_pre(&component)?)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("component {id} is not a wasi:http handler"))?;
            handlers.insert(id.clone(), (pre, config));
        }
        if !manifest.trigger.redis.is_empty() && manifest.trigger.redis.iter().any(|t| selected(&t.component)) {
            bail!("Redis triggers are not implemented by the project host yet");
        }
        let http = (!routes.is_empty()).then(|| {
            Arc::new(HttpApp {
                app_name: manifest.application.name.clone(),
                app_version: manifest.application.version.clone().unwrap_or_default(),
                routes,
                handlers,
                services: services.clone(),
            })
        });
        Ok(App {
            http,
            services,
            engine,
        })
    }

    /// Serves the HTTP trigger until the listener fails.
    pub async fn serve(&self, listener: TcpListener) -> anyhow::Result<()> {
        match &self.http {
            Some(http) => http.clone().serve(listener).await,
            None => bail!("the selected components have no HTTP trigger"),
        }
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
