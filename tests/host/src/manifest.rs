//! `spin.toml` (manifest version 2), the subset of Spin 3.6's schema this
//! host runs. Unknown keys are refused as Spin refuses them.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub spin_manifest_version: u32,
    pub application: Application,
    #[serde(default)]
    pub variables: BTreeMap<String, VariableDef>,
    #[serde(default)]
    pub trigger: Triggers,
    #[serde(default)]
    pub component: BTreeMap<String, ComponentDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub authors: Vec<String>,
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub trigger: ApplicationTriggers,
    #[serde(default)]
    pub tool: Option<toml::Table>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationTriggers {
    pub redis: Option<RedisDefaults>,
    pub http: Option<HttpDefaults>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisDefaults {
    pub address: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpDefaults {
    pub base: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDef {
    pub description: Option<String>,
    #[serde(default)]
    pub required: bool,
    pub default: Option<String>,
    #[serde(default)]
    pub secret: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    #[serde(default)]
    pub http: Vec<HttpTrigger>,
    #[serde(default)]
    pub redis: Vec<RedisTrigger>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTrigger {
    pub id: Option<String>,
    pub route: Route,
    pub component: String,
    pub executor: Option<toml::Table>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Route {
    Path(String),
    Private { private: bool },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisTrigger {
    pub id: Option<String>,
    pub component: String,
    pub channel: String,
    pub address: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentDef {
    pub source: String,
    pub description: Option<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub files: Vec<toml::Value>,
    #[serde(default)]
    pub exclude_files: Vec<String>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    #[serde(default)]
    pub ai_models: Vec<String>,
    #[serde(default)]
    pub targets: Vec<String>,
    pub build: Option<toml::Table>,
    pub tool: Option<toml::Table>,
    #[serde(default)]
    pub dependencies_inherit_configuration: bool,
    #[serde(default)]
    pub dependencies: BTreeMap<String, Dependency>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    pub path: Option<String>,
    pub export: Option<String>,
    pub version: Option<String>,
    pub registry: Option<String>,
    pub package: Option<String>,
    pub url: Option<String>,
    pub digest: Option<String>,
    pub component: Option<String>,
}

impl Manifest {
    pub fn load(path: &Path) -> anyhow::Result<Manifest> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Manifest> {
        let manifest: Manifest = toml::from_str(text)?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// The checks Spin's loader makes that serde cannot express.
    fn validate(&self) -> anyhow::Result<()> {
        if self.spin_manifest_version != 2 {
            bail!("only spin_manifest_version = 2 is supported");
        }
        for (name, def) in &self.variables {
            crate::variables::check_name(name)?;
            if def.required == def.default.is_some() {
                bail!("variable {name} must be `required` OR have a `default`");
            }
        }
        for (id, component) in &self.component {
            if !is_kebab(id) {
                bail!("component id {id:?} must be kebab-case");
            }
            for name in component.variables.keys() {
                crate::variables::check_name(name)?;
            }
        }
        for trigger in &self.trigger.http {
            if !self.component.contains_key(&trigger.component) {
                bail!(
                    "http trigger refers to unknown component {:?}",
                    trigger.component
                );
            }
            if let Route::Private { private: false } = trigger.route {
                bail!("route `private = false` is not allowed");
            }
        }
        for trigger in &self.trigger.redis {
            if !self.component.contains_key(&trigger.component) {
                bail!(
                    "redis trigger refers to unknown component {:?}",
                    trigger.component
                );
            }
        }
        if let Some(base) = self
            .application
            .trigger
            .http
            .as_ref()
            .and_then(|h| h.base.as_deref())
        {
            if base != "/" {
                bail!("application.trigger.http.base must be \"/\"");
            }
        }
        Ok(())
    }
}

fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|part| {
            !part.is_empty()
                && part.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
spin_manifest_version = 2
[application]
name = "x"
[variables]
a = { default = "1" }
b = { required = true, secret = true }
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "web.wasm"
allowed_outbound_hosts = ["postgres://{{ a }}:5432"]
[component.web.variables]
a = "{{ a }}"
"#;

    #[test]
    fn parses_a_minimal_manifest() {
        let m = Manifest::parse(MINIMAL).unwrap();
        assert_eq!(m.application.name, "x");
        assert_eq!(m.trigger.http.len(), 1);
        assert!(m.variables["b"].secret);
    }

    #[test]
    fn refuses_unknown_keys_like_spin() {
        let bad = MINIMAL.replace(
            "source = \"web.wasm\"",
            "source = \"web.wasm\"\nsourcee = 1",
        );
        assert!(Manifest::parse(&bad).is_err());
    }

    #[test]
    fn variables_need_required_or_default() {
        let bad = MINIMAL.replace("a = { default = \"1\" }", "a = { secret = true }");
        assert!(Manifest::parse(&bad).is_err());
        let both = MINIMAL.replace(
            "a = { default = \"1\" }",
            "a = { default = \"1\", required = true }",
        );
        assert!(Manifest::parse(&both).is_err());
    }

    #[test]
    fn component_ids_are_kebab_case() {
        assert!(is_kebab("order-worker2"));
        assert!(!is_kebab("Order"));
        assert!(!is_kebab("a--b"));
        assert!(!is_kebab("a_b"));
    }
}
