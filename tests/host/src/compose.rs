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

fn package_exports(graph: &CompositionGraph, package: &Package, name: &str) -> bool {
    let world = &graph.types()[package.ty()];
    world.exports.keys().any(|k| k == name)
}
