//! Spin variables: application variables (`[variables]`) resolved from the
//! environment (`SPIN_VARIABLE_<NAME>`) or their defaults, and component
//! variables as `{{ name }}` templates over them.

use std::collections::{BTreeMap, HashMap};

use anyhow::{anyhow, bail};

use crate::manifest::VariableDef;

/// Names: `[a-z][a-z0-9_]*`, single underscores, not ending in `_` (Spin's rule).
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_');
    if ok {
        Ok(())
    } else {
        bail!("invalid variable name {name:?}")
    }
}

/// Application variables with their values resolved.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    values: HashMap<String, String>,
}

impl Resolved {
    /// Resolves every application variable. `lookup` plays the provider: the
    /// process environment in production, a map in tests. A required variable
    /// without a value stops start-up, as in Spin.
    pub fn resolve(
        defs: &BTreeMap<String, VariableDef>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Resolved> {
        let mut resolved = Resolved::default();
        for (name, def) in defs {
            let env_name = format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase());
            let value = lookup(&env_name).or_else(|| def.default.clone());
            match value {
                Some(v) => {
                    resolved.values.insert(name.clone(), v);
                }
                None => bail!("required variable {name} has no value (set {env_name})"),
            }
        }
        Ok(resolved)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Expands `{{ name }}` templates against application variables.
    pub fn expand(&self, template: &str) -> anyhow::Result<String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| anyhow!("unterminated template in {template:?}"))?;
            let name = after[..end].trim();
            let value = self
                .get(name)
                .ok_or_else(|| anyhow!("template refers to unknown variable {name:?}"))?;
            out.push_str(value);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Component variables: each template expanded.
    pub fn component_values(
        &self,
        templates: &BTreeMap<String, String>,
    ) -> anyhow::Result<HashMap<String, String>> {
        templates
            .iter()
            .map(|(k, t)| Ok((k.clone(), self.expand(t)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs() -> BTreeMap<String, VariableDef> {
        let var = |required: bool, default: Option<&str>| VariableDef {
            description: None,
            required,
            default: default.map(str::to_string),
            secret: false,
        };
        BTreeMap::from([
            ("db_host".to_string(), var(false, Some("127.0.0.1"))),
            ("jwt_secret".to_string(), var(true, None)),
        ])
    }

    #[test]
    fn environment_overrides_defaults() {
        let r = Resolved::resolve(&defs(), |k| match k {
            "SPIN_VARIABLE_DB_HOST" => Some("db.internal".into()),
            "SPIN_VARIABLE_JWT_SECRET" => Some("s".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(r.get("db_host"), Some("db.internal"));
        assert_eq!(
            r.expand("postgres://{{ db_host }}:5432").unwrap(),
            "postgres://db.internal:5432"
        );
        assert_eq!(
            r.expand("{{db_host}}-{{ jwt_secret }}").unwrap(),
            "db.internal-s"
        );
    }

    #[test]
    fn missing_required_variable_fails() {
        let err = Resolved::resolve(&defs(), |_| None).unwrap_err();
        assert!(err.to_string().contains("SPIN_VARIABLE_JWT_SECRET"));
    }

    #[test]
    fn unknown_template_variable_fails() {
        let r = Resolved::resolve(&defs(), |_| Some("x".into())).unwrap();
        assert!(r.expand("{{ nope }}").is_err());
        assert!(r.expand("{{ db_host").is_err());
    }

    #[test]
    fn names_follow_spin_rules() {
        assert!(check_name("redis_url").is_ok());
        assert!(check_name("a1").is_ok());
        for bad in ["Redis", "_a", "a_", "a__b", "1a", "a-b", ""] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
