//! `spin up --runtime-config-file`: the parts this host implements.
//!
//! Only `[key_value_store.<label>]` with `type = "redis"` (Spin 3.6.3's
//! `key-value-redis`: `url`). Any other key-value type is refused at load
//! rather than quietly replaced by something that behaves differently.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context};
use serde::Deserialize;

#[derive(Debug, Default, Clone)]
pub struct RuntimeConfig {
    /// Key-value store label → Redis URL.
    pub key_value_stores: HashMap<String, String>,
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    key_value_store: HashMap<String, toml::Table>,
}

impl RuntimeConfig {
    pub fn load(path: &Path) -> anyhow::Result<RuntimeConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading runtime config {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("runtime config {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<RuntimeConfig> {
        let file: File = toml::from_str(text)?;
        let mut key_value_stores = HashMap::new();
        for (label, table) in file.key_value_store {
            let kind = table.get("type").and_then(|v| v.as_str()).unwrap_or("");
            if kind != "redis" {
                bail!(
                    "could not configure key-value store with label '{label}': type {kind:?} \
                     is not implemented by the project host (only \"redis\")"
                );
            }
            let Some(url) = table.get("url").and_then(|v| v.as_str()) else {
                bail!("could not configure key-value store with label '{label}': missing `url`");
            };
            key_value_stores.insert(label, url.to_string());
        }
        Ok(RuntimeConfig { key_value_stores })
    }

    /// Spin's check at start-up: a label other than `default` must be
    /// configured (`default` would be a local SQLite file, not implemented
    /// here either — so every label must be configured).
    pub fn check_labels<'a>(
        &self,
        component: &str,
        labels: impl IntoIterator<Item = &'a String>,
    ) -> anyhow::Result<()> {
        for label in labels {
            if !self.key_value_stores.contains_key(label) {
                bail!(
                    "unknown key_value_stores label {label:?} in component {component:?} \
                     (configure [key_value_store.{label}] in the runtime config)"
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_redis_stores_and_refuses_other_types() {
        let c = RuntimeConfig::parse(
            "[key_value_store.cache]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:6379\"\n",
        )
        .unwrap();
        assert_eq!(c.key_value_stores["cache"], "redis://127.0.0.1:6379");
        assert!(RuntimeConfig::parse("[key_value_store.x]\ntype = \"spin\"\n").is_err());
        assert!(RuntimeConfig::parse("[key_value_store.x]\ntype = \"redis\"\n").is_err());
        assert!(RuntimeConfig::parse("")
            .unwrap()
            .key_value_stores
            .is_empty());
    }

    #[test]
    fn every_label_a_component_names_must_be_configured() {
        let c = RuntimeConfig::parse(
            "[key_value_store.cache]\ntype = \"redis\"\nurl = \"redis://h\"\n",
        )
        .unwrap();
        assert!(c.check_labels("a", &["cache".to_string()]).is_ok());
        let err = c.check_labels("a", &["other".to_string()]).unwrap_err();
        assert!(err.to_string().contains("unknown key_value_stores label"));
    }
}
