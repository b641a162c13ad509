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
    check("workers.yaml", "core.spinkube.dev_spinapps.yaml", "SpinApp");
}

/// Every triggered component of spin.toml runs in exactly one SpinApp: the
/// HTTP ones in the gateway app, the Redis-trigger ones in the workers app
/// (one replica: each replica would get every message).
#[test]
fn each_triggered_component_runs_in_one_spinapp() {
    let spin =
        platform_host::manifest::Manifest::load(&integration::workspace_root().join("spin.toml"))
            .unwrap();
    let http: std::collections::BTreeSet<String> = spin
        .trigger
        .http
        .iter()
        .map(|t| t.component.clone())
        .collect();
    let redis: std::collections::BTreeSet<String> = spin
        .trigger
        .redis
        .iter()
        .map(|t| t.component.clone())
        .collect();
    let selected = |file: &str| -> std::collections::BTreeSet<String> {
        manifest(file)["spec"]["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(selected("gateway.yaml"), http);
    assert_eq!(selected("workers.yaml"), redis);
    assert_eq!(manifest("workers.yaml")["spec"]["replicas"], 1);
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
    for file in ["gateway.yaml", "workers.yaml"] {
        let doc = yaml(
            &integration::workspace_root()
                .join("deploy/kubernetes")
                .join(file),
        );
        let set: Vec<&str> = doc["spec"]["variables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        for name in &set {
            assert!(
                manifest.variables.contains_key(*name),
                "{file}: {name} is not a spin.toml variable"
            );
        }
        for (name, def) in &manifest.variables {
            assert!(
                !def.required || set.contains(&name.as_str()),
                "{file}: required variable {name} is not set"
            );
        }
    }
}

fn manifest(name: &str) -> Value {
    yaml(
        &integration::workspace_root()
            .join("deploy/kubernetes")
            .join(name),
    )
}

/// Review item: the example secret's placeholder passed the 32-byte check,
/// so applying the example unchanged made a public signing key.
#[test]
fn the_example_jwt_secret_is_refused() {
    let doc = manifest("secret.example.yaml");
    let secret = doc["stringData"]["jwt_secret"].as_str().unwrap();
    assert_eq!(
        auth_core::check_secret(secret.as_bytes()),
        Err(auth_core::AuthError::WeakSecret),
        "{secret:?} would be accepted as a signing key"
    );
}

/// Review item: readiness on /health/ready took every endpoint away during
/// a database blip. Readiness is the process serving.
#[test]
fn gateway_readiness_does_not_depend_on_the_datastores() {
    let doc = manifest("gateway.yaml");
    let checks = &doc["spec"]["checks"];
    assert_eq!(checks["readiness"]["httpGet"]["path"], "/health");
    assert_eq!(checks["liveness"]["httpGet"]["path"], "/health");
}

/// Review item: the migration Job had no resources, ran as root, and kept
/// one name, so re-applying it with a new image failed (a Job's template
/// is immutable).
#[test]
fn the_migration_job_is_bounded_non_root_and_named_by_its_image() {
    let doc = manifest("migrate-job.yaml");
    let pod = &doc["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert!(pod["securityContext"]["runAsUser"].as_u64().unwrap() > 0);
    let container = &pod["containers"][0];
    assert!(container["resources"]["limits"]["memory"].is_string());
    assert!(container["resources"]["requests"]["cpu"].is_string());
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    let image = container["image"].as_str().unwrap();
    let tag = image.rsplit(':').next().unwrap().replace('.', "-");
    let name = doc["metadata"]["name"].as_str().unwrap();
    assert!(name.ends_with(&tag), "Job {name} does not carry tag {tag}");
    assert!(doc["spec"]["ttlSecondsAfterFinished"].as_u64().is_some());
    let dockerfile =
        std::fs::read_to_string(integration::workspace_root().join("deploy/migrate.Dockerfile"))
            .unwrap();
    let user = dockerfile
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the image sets a USER");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "{user}"
    );
}
