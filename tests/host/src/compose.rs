//! Component dependencies, composed the way Spin composes them (wac-graph):
//! each dependency is plugged into the importing component, and what stays
//! unsatisfied (WASI, Spin APIs) remains an import served by the host —
//! which is what `dependencies_inherit_configuration = true` means.

use std::path::Path;

use anyhow::{bail, Context};
use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions};

use crate::manifest::ComponentDef;

/// The component's bytes with its dependencies composed in.
pub fn load_component(base: &Path, id: &str, def: &ComponentDef) -> anyhow::Result<Vec<u8>> {
    let source = base.join(&def.source);
    let bytes = std::fs::read(&source).with_context(|| {
        format!(
            "component {id}: reading {} (run `cargo xtask build`)",
            source.display()
        )
    })?;
    if def.dependencies.is_empty() {
        return Ok(bytes);
    }
    if !def.dependencies_inherit_configuration {
        bail!(
            "component {id}: dependencies without `dependencies_inherit_configuration = true` \
             are not supported by the project host"
        );
    }
    one_package_each(id, def.dependencies.keys())?;
    let mut graph = CompositionGraph::new();
    let socket = Package::from_bytes(&format!("spin-app:{id}"), None, bytes, graph.types_mut())?;
    let socket = graph.register_package(socket)?;
    let mut plugs = Vec::new();
    for (n, (name, dep)) in def.dependencies.iter().enumerate() {
        let Some(path) = dep.path.as_deref() else {
            bail!("component {id}: dependency {name}: only `path` dependencies are supported by the project host");
        };
        if dep.export.is_some() {
            bail!(
                "component {id}: dependency {name}: `export` is not supported by the project host"
            );
        }
        let dep_path = base.join(path);
        let dep_bytes = std::fs::read(&dep_path)
            .with_context(|| format!("dependency {name}: reading {}", dep_path.display()))?;
        let package = Package::from_bytes(
            &format!("spin-dep:d{n}"),
            None,
            dep_bytes,
            graph.types_mut(),
        )?;
        let exports_it = package_exports(&graph, &package, name);
        if !exports_it {
            bail!(
                "component {id}: dependency {name}: {} does not export it",
                dep_path.display()
            );
        }
        plugs.push(graph.register_package(package)?);
    }
    wac_graph::plug(&mut graph, plugs, socket).with_context(|| format!("composing {id}"))?;
    Ok(graph.encode(EncodeOptions::default())?)
}

/// The package a dependency's name registers in Spin's composition graph:
/// `ns:pkg` of `ns:pkg/iface@ver`, or a plain name itself.
fn dependency_package(name: &str) -> &str {
    let without_version = name.split('@').next().unwrap_or(name);
    without_version.split('/').next().unwrap_or(without_version)
}

/// Spin 3.6.3 registers each dependency under its package's name and fails
/// on a second from the same package ("package `shop:platform` has already
/// been registered in the graph", crates/compose/src/lib.rs
/// `register_dependency`): the project host refuses the same manifest.
fn one_package_each<'a>(id: &str, names: impl Iterator<Item = &'a String>) -> anyhow::Result<()> {
    let mut seen: std::collections::BTreeMap<&str, &str> = Default::default();
    for name in names {
        let package = dependency_package(name);
        if let Some(first) = seen.insert(package, name) {
            bail!(
                "component {id}: dependencies {first} and {name} are from one package: \
                 package `{package}` has already been registered in the graph (Spin 3.6.3 \
                 composes at most one dependency per package)"
            );
        }
    }
    Ok(())
}

fn package_exports(graph: &CompositionGraph, package: &Package, name: &str) -> bool {
    let world = &graph.types()[package.ty()];
    world.exports.keys().any(|k| k == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_dependencies_from_one_package_are_refused_as_spin_does() {
        let ok = [
            "shop:orders-admin/admin@0.1.0",
            "shop:users-admin/admin@0.1.0",
        ]
        .map(String::from);
        assert!(one_package_each("admin-api", ok.iter()).is_ok());
        let same = ["shop:platform/orders@0.1.0", "shop:platform/users@0.1.0"].map(String::from);
        let err = one_package_each("admin-api", same.iter())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("package `shop:platform` has already been registered"),
            "{err}"
        );
        assert_eq!(dependency_package("plain-name"), "plain-name");
        assert_eq!(dependency_package("a:b@1.0.0"), "a:b");
    }
}
