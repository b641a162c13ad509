//! The SpinKube manifests in deploy/kubernetes validate against SpinKube's
//! CRDs (shared/k8s-crds, beside the repository), strictly: an unknown field
//! is an error, as with `kubectl apply --validate=strict`.

use std::path::PathBuf;

use serde_json::Value;

fn crd_dir() -> PathBuf {
    integration::workspace_root().join("../shared/k8s-crds")
}

/// The CRDs live beside the repository (CI has them; they are not copied in).
/// Without them these tests say so and check nothing.
fn crds_present() -> bool {
    let present = crd_dir().join("core.spinkube.dev_spinapps.yaml").exists();
    if !present {
        eprintln!("skipped: no SpinKube CRDs at {}", crd_dir().display());
    }
    present
}

fn yaml(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Objects that list their properties accept no others (unless the CRD says so).
fn strict(schema: &mut Value) {
    if let Value::Object(map) = schema {
        let preserves = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        if map.contains_key("properties") && !map.contains_key("additionalProperties") && !preserves
        {
            map.insert("additionalProperties".into(), Value::Bool(false));
        }
        for v in map.values_mut() {
            strict(v);
        }
    } else if let Value::Array(items) = schema {
        items.iter_mut().for_each(strict);
    }
}

fn validator(crd_file: &str) -> jsonschema::Validator {
    let crd = yaml(&crd_dir().join(crd_file));
    let version = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "v1alpha1")
        .expect("v1alpha1");
    let mut schema = version["schema"]["openAPIV3Schema"].clone();
    strict(&mut schema);
    jsonschema::validator_for(&schema).expect("CRD schema compiles")
}

fn check(manifest: &str, crd_file: &str, kind: &str) {
    let doc = yaml(
        &integration::workspace_root()
            .join("deploy/kubernetes")
            .join(manifest),
    );
    assert_eq!(doc["apiVersion"], "core.spinkube.dev/v1alpha1");
    assert_eq!(doc["kind"], kind);
    let v = validator(crd_file);
    let errors: Vec<String> = v
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{manifest}: {errors:#?}");
}

#[test]
fn spinapp_matches_the_crd() {
    if !crds_present() {
        return;
    }
    check("gateway.yaml", "core.spinkube.dev_spinapps.yaml", "SpinApp");
}

#[test]
fn executor_matches_the_crd() {
    if !crds_present() {
        return;
    }
    check(
        "executor.yaml",
        "core.spinkube.dev_spinappexecutors.yaml",
        "SpinAppExecutor",
    );
}

#[test]
fn a_misspelt_field_is_caught() {
    if !crds_present() {
        return;
    }
    let v = validator("core.spinkube.dev_spinapps.yaml");
    let mut doc = yaml(&integration::workspace_root().join("deploy/kubernetes/gateway.yaml"));
    doc["spec"]["replica"] = Value::from(2);
    assert!(!v.is_valid(&doc));
}

#[test]
fn spinapp_variables_are_manifest_variables() {
    let manifest =
        platform_host::manifest::Manifest::load(&integration::workspace_root().join("spin.toml"))
            .unwrap();
    let doc = yaml(&integration::workspace_root().join("deploy/kubernetes/gateway.yaml"));
    let set: Vec<&str> = doc["spec"]["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for name in &set {
        assert!(
            manifest.variables.contains_key(*name),
            "{name} is not a spin.toml variable"
        );
    }
    for (name, def) in &manifest.variables {
        assert!(
            !def.required || set.contains(&name.as_str()),
            "required variable {name} is not set"
        );
    }
}
