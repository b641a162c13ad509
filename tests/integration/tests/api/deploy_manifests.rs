//! The SpinKube deployment as a cluster would take it: every Kustomize
//! overlay in deploy/kubernetes/overlays is rendered with `kubectl
//! kustomize`, every object is validated (SpinApp and SpinAppExecutor
//! against SpinKube's CRDs, strictly; everything else against the Kubernetes
//! schemas with `kubernetes-validate --strict`), and the project's own rules
//! hold on what was rendered.
//!
//! The tools come from a Python venv that `cargo xtask test` creates
//! (xtask/src/deploy_tools.rs, pinned in deploy/tools-requirements.txt) and
//! names in DEPLOY_TOOLS_BIN. Without them these tests fail; they never skip.
//! The CRDs live beside the repository (../shared/k8s-crds): without them the
//! CRD checks say "skipped" and check nothing, as before.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use platform_host::manifest::Manifest;
use serde::Deserialize;
use serde_json::Value;

/// The overlays a person can apply.
const OVERLAYS: &[&str] = &["dev", "prod"];

/// Kubernetes versions every built-in object must be valid for: the oldest
/// the deployment supports and the newest schema the validator ships.
const KUBERNETES_VERSIONS: &[&str] = &["1.30.0", "1.37.0"];

/// Kinds validated against SpinKube's CRDs instead of Kubernetes' schemas.
const CRD_KINDS: &[(&str, &str)] = &[
    ("SpinApp", "core.spinkube.dev_spinapps.yaml"),
    ("SpinAppExecutor", "core.spinkube.dev_spinappexecutors.yaml"),
];
const SPINKUBE_API: &str = "core.spinkube.dev/v1alpha1";

mod objects;
mod rules;
mod schemas;
mod tools;

use objects::*;
use rules::*;
use schemas::*;
use tools::*;

#[test]
fn every_overlay_renders_and_matches_the_kubernetes_schemas() {
    let mut errors = Vec::new();
    for (overlay, objects) in rendered() {
        assert!(!objects.is_empty(), "{overlay} renders nothing");
        let (e, n) = kubernetes_violations(objects, overlay);
        eprintln!(
            "{overlay}: {} objects rendered; {n} validated against Kubernetes {KUBERNETES_VERSIONS:?}",
            objects.len()
        );
        errors.extend(e);
    }
    let (e, _) = kubernetes_violations(&secret_templates(), "secret.example.yaml");
    errors.extend(e);
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn spinkube_objects_match_the_crds() {
    if !crds_present() {
        return;
    }
    let mut errors = Vec::new();
    for (overlay, objects) in rendered() {
        let (e, n) = crd_violations(objects);
        eprintln!("{overlay}: {n} SpinKube objects validated against the CRDs");
        assert!(n >= 4, "{overlay}: the three SpinApps and the executor");
        errors.extend(e.into_iter().map(|e| format!("{overlay}: {e}")));
    }
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn spin_variables_are_provided_from_configmaps_and_secrets() {
    holds(variable_violations);
}

#[test]
fn secret_values_come_only_from_secrets() {
    holds(secret_violations);
}

#[test]
fn every_selected_component_exists_and_runs_in_one_spinapp() {
    holds(component_violations);
}

#[test]
fn key_value_stores_are_the_apps_redis() {
    holds(key_value_violations);
}

#[test]
fn images_are_pinned() {
    holds(image_violations);
}

#[test]
fn containers_have_resources_and_probes() {
    holds(container_violations);
}

#[test]
fn scaling_follows_spinkubes_rules() {
    holds(scaling_violations);
}

#[test]
fn the_gateway_and_the_relay_have_disruption_budgets() {
    holds(disruption_violations);
}

#[test]
fn network_policies_expose_only_the_gateway() {
    holds(network_violations);
}

#[test]
fn the_migration_runs_before_the_apps() {
    holds(ordering_violations);
}

/// Review item: the example secret's placeholder passed the 32-byte check,
/// so applying the example unchanged made a public signing key.
#[test]
fn the_example_jwt_secret_is_refused() {
    let secrets = secret_templates();
    let secret = secrets[0]["stringData"]["jwt_secret"].as_str().unwrap();
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
    for (overlay, objects) in rendered() {
        let app = of_kind(objects, "SpinApp")
            .find(|a| name(a) == "platform-gateway")
            .unwrap_or_else(|| panic!("{overlay}: no gateway SpinApp"));
        let checks = &app["spec"]["checks"];
        assert_eq!(
            checks["readiness"]["httpGet"]["path"], "/health",
            "{overlay}"
        );
        assert_eq!(
            checks["liveness"]["httpGet"]["path"], "/health",
            "{overlay}"
        );
    }
}

/// Review item: the migration Job had no resources, ran as root, and kept
/// one name, so re-applying it with a new image failed (a Job's template
/// is immutable).
#[test]
fn the_migration_job_is_bounded_and_non_root() {
    for (overlay, objects) in rendered() {
        let job = of_kind(objects, "Job").next().unwrap();
        let pod = &job["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{overlay}");
        assert!(pod["securityContext"]["runAsUser"].as_u64().unwrap() > 0);
        assert_eq!(
            pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"],
            false
        );
        assert!(job["spec"]["ttlSecondsAfterFinished"].as_u64().is_some());
        assert!(job["spec"]["activeDeadlineSeconds"].as_u64().is_some());
    }
    let dockerfile = std::fs::read_to_string(root().join("deploy/migrate.Dockerfile")).unwrap();
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

/// The README tells where Midtrans must send its notifications.
#[test]
fn the_readme_documents_the_midtrans_notification_url() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let deploy = readme
        .split("\n## ")
        .find(|s| s.starts_with("Deploy"))
        .expect("a Deploy section");
    assert!(
        deploy.contains("https://<host>/payment/webhook"),
        "{deploy}"
    );
    assert!(
        spin()
            .trigger
            .http
            .iter()
            .any(|t| t.component == "payments-api"),
        "payments-api serves /payment/..."
    );
}

// ------------------------------------------- the rules can fail (negative)

fn gateway_of(overlay: &str) -> Value {
    of_kind(&rendered()[overlay], "SpinApp")
        .find(|a| name(a) == "platform-gateway")
        .unwrap()
        .clone()
}

/// The dev overlay with one object replaced (by kind and name) or added.
fn dev_with(changed: Value) -> Vec<Value> {
    let mut objects = rendered()["dev"].clone();
    match objects.iter().position(|o| id(o) == id(&changed)) {
        Some(i) => objects[i] = changed,
        None => objects.push(changed),
    }
    objects
}

fn violations(rule: Rule, objects: &[Value]) -> Vec<String> {
    let secrets = secret_templates();
    rule(&Deployment {
        objects,
        spin: spin(),
        secrets: &secrets,
    })
}

#[test]
fn an_unknown_kind_fails_schema_validation() {
    let bad = documents(
        "apiVersion: apps/v1\nkind: Deploymnt\nmetadata: {name: typo, namespace: shop}\nspec: {}\n",
    );
    let (errors, _) = kubernetes_violations(&bad, "negative-kind");
    assert!(!errors.is_empty(), "a misspelt kind passed");
    let mut field = rendered()["dev"]
        .iter()
        .find(|o| kind(o) == "Deployment")
        .unwrap()
        .clone();
    field["spec"]["replica"] = Value::from(2);
    let (errors, _) = kubernetes_violations(&[field], "negative-field");
    assert!(errors.iter().any(|e| e.contains("replica")), "{errors:#?}");
    let spinkube = documents(
        "apiVersion: core.spinkube.dev/v1alpha1\nkind: SpinAppp\nmetadata: {name: x}\nspec: {}\n",
    );
    assert!(!crd_violations(&spinkube).0.is_empty());
}

#[test]
fn a_misspelt_spinapp_field_is_caught() {
    if !crds_present() {
        return;
    }
    let mut app = gateway_of("dev");
    app["spec"]["replica"] = Value::from(2);
    assert!(!crd_violations(&[app]).0.is_empty());
}

#[test]
fn latest_and_untagged_images_are_refused() {
    for bad in [
        "ghcr.io/x/app:latest",
        "ghcr.io/x/app",
        "localhost:5000/app",
        "app@sha256:abc",
    ] {
        let mut app = gateway_of("dev");
        app["spec"]["image"] = Value::from(bad);
        assert!(
            !violations(image_violations, &dev_with(app)).is_empty(),
            "{bad}"
        );
    }
    for good in [
        "ghcr.io/x/app:0.1.0",
        "localhost:5000/app:1",
        &format!("ghcr.io/x/app@sha256:{}", "a".repeat(64)),
    ] {
        assert!(image_pinned(good), "{good}");
    }
}

#[test]
fn a_missing_required_variable_is_refused() {
    let mut app = gateway_of("dev");
    let vars = app["spec"]["variables"].as_array_mut().unwrap();
    vars.retain(|v| v["name"] != "jwt_secret");
    let errors = violations(variable_violations, &dev_with(app));
    assert!(
        errors.iter().any(|e| e.contains("requires jwt_secret")),
        "{errors:#?}"
    );
}

#[test]
fn a_secret_in_a_configmap_is_refused() {
    let mut app = gateway_of("dev");
    for v in app["spec"]["variables"].as_array_mut().unwrap() {
        if v["name"] == "jwt_secret" {
            v["valueFrom"] = serde_json::json!({
                "configMapKeyRef": {"name": "platform-config", "key": "jwt_secret"}
            });
        }
    }
    let errors = violations(secret_violations, &dev_with(app));
    assert!(
        errors.iter().any(|e| e.contains("jwt_secret")),
        "{errors:#?}"
    );
    let cm = documents(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leak}\ndata: {database_url: postgres://u:p@h/db}\n",
    );
    assert!(!violations(secret_violations, &cm).is_empty());
}

#[test]
fn unknown_components_probes_and_autoscaling_with_replicas_are_refused() {
    let mut app = gateway_of("dev");
    app["spec"]["components"]
        .as_array_mut()
        .unwrap()
        .push(Value::from("no-such-component"));
    assert!(violations(component_violations, &dev_with(app))
        .iter()
        .any(|e| e.contains("no-such-component")));

    let mut workers = of_kind(&rendered()["dev"], "SpinApp")
        .find(|a| name(a) == "platform-workers")
        .unwrap()
        .clone();
    workers["spec"]["checks"] = serde_json::json!({"liveness": {"httpGet": {"path": "/health"}}});
    workers["spec"]["replicas"] = Value::from(2);
    let errors = violations(component_violations, &dev_with(workers));
    assert!(
        errors.iter().any(|e| e.contains("port-80 checks"))
            && errors.iter().any(|e| e.contains("exactly one replica")),
        "{errors:#?}"
    );

    let mut app = gateway_of("dev");
    app["spec"]["replicas"] = Value::from(2);
    assert!(!violations(scaling_violations, &dev_with(app)).is_empty());
}

#[test]
fn an_exposed_datastore_is_refused() {
    let open = documents(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: open-redis}\n\
         spec:\n  podSelector: {matchLabels: {app: redis}}\n  policyTypes: [Ingress]\n  ingress:\n  - {}\n",
    )
    .remove(0);
    let errors = violations(network_violations, &dev_with(open));
    assert!(
        errors.iter().any(|e| e.contains("open-redis")),
        "{errors:#?}"
    );
}

/// The alert rules (deploy/kubernetes/monitoring/prometheus-rule.yaml): a
/// PrometheusRule whose every alert is complete, and whose expressions
/// name only metrics the relay exports (a renamed metric would leave an
/// alert that can never fire).
#[test]
fn the_alert_rules_only_name_metrics_the_relay_exports() {
    let path =
        integration::workspace_root().join("deploy/kubernetes/monitoring/prometheus-rule.yaml");
    let rule: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(rule["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(rule["kind"], "PrometheusRule");
    let mut exported = BTreeSet::new();
    for line in relay::metrics::Metrics::new().render().lines() {
        if let ["#", "TYPE", name, kind] = line.split_whitespace().collect::<Vec<_>>()[..] {
            exported.insert(name.to_string());
            if kind == "counter" {
                exported.insert(format!("{name}_total"));
            }
        }
    }
    let mut alerts = BTreeSet::new();
    let groups = rule["spec"]["groups"].as_array().expect("spec.groups");
    for rule in groups.iter().flat_map(|g| g["rules"].as_array().unwrap()) {
        let alert = rule["alert"].as_str().expect("every rule is an alert");
        assert!(alerts.insert(alert.to_string()), "{alert} twice");
        let expr = rule["expr"].as_str().expect("expr");
        assert!(
            ["critical", "warning", "info"]
                .contains(&rule["labels"]["severity"].as_str().unwrap_or("")),
            "{alert}: severity"
        );
        for field in ["summary", "description"] {
            assert!(
                rule["annotations"][field]
                    .as_str()
                    .is_some_and(|s| !s.is_empty()),
                "{alert}: annotations.{field}"
            );
        }
        let named: Vec<&str> = expr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|t| t.starts_with("relay_"))
            .collect();
        assert!(!named.is_empty(), "{alert} names no relay metric: {expr}");
        for metric in named {
            assert!(
                exported.contains(metric),
                "{alert}: {metric} is not exported ({exported:?})"
            );
        }
    }
    assert!(alerts.len() >= 8, "{alerts:?}");
}

#[test]
fn a_cache_store_missing_or_elsewhere_is_refused() {
    let mut app = gateway_of("dev");
    app["spec"]["runtimeConfig"] = Value::Null;
    let errors = violations(key_value_violations, &dev_with(app));
    assert!(
        errors.iter().any(|e| e.contains("does not define")),
        "{errors:#?}"
    );
    let mut app = gateway_of("dev");
    app["spec"]["runtimeConfig"]["keyValueStores"][0]["options"][0]["valueFrom"]["secretKeyRef"]
        ["key"] = Value::from("other_redis");
    let errors = violations(key_value_violations, &dev_with(app));
    assert!(
        errors.iter().any(|e| e.contains("redis_url")),
        "{errors:#?}"
    );
}
