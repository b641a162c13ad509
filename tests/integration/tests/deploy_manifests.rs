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

// ---------------------------------------------------------------- the tools

fn root() -> PathBuf {
    integration::workspace_root()
}

fn deploy_dir() -> PathBuf {
    root().join("deploy/kubernetes")
}

/// DEPLOY_TOOLS_BIN (set by `cargo xtask test`), else the venv xtask makes
/// in target/deploy-tools. Missing tools fail the test.
fn tools_bin() -> PathBuf {
    let bin = std::env::var_os("DEPLOY_TOOLS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/deploy-tools/bin"));
    for tool in ["kubectl", "kubernetes-validate"] {
        assert!(
            bin.join(tool).exists(),
            "{} is missing: `cargo xtask test` installs the deploy tools \
             (python3 -m venv target/deploy-tools && target/deploy-tools/bin/pip \
             install -r deploy/tools-requirements.txt), or set DEPLOY_TOOLS_BIN",
            bin.join(tool).display()
        );
    }
    bin
}

/// Every document of a multi-document YAML text (empty documents dropped).
fn documents(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("YAML: {e}")))
        .filter(|v| !v.is_null())
        .collect()
}

fn render(overlay: &str) -> Vec<Value> {
    let dir = deploy_dir().join("overlays").join(overlay);
    let out = Command::new(tools_bin().join("kubectl"))
        .arg("kustomize")
        .arg(&dir)
        .output()
        .expect("running kubectl kustomize");
    assert!(
        out.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    documents(&String::from_utf8(out.stdout).unwrap())
}

/// Each overlay rendered once for all the tests of this file.
fn rendered() -> &'static BTreeMap<&'static str, Vec<Value>> {
    static RENDERED: OnceLock<BTreeMap<&'static str, Vec<Value>>> = OnceLock::new();
    RENDERED.get_or_init(|| OVERLAYS.iter().map(|o| (*o, render(o))).collect())
}

fn spin() -> &'static Manifest {
    static SPIN: OnceLock<Manifest> = OnceLock::new();
    SPIN.get_or_init(|| Manifest::load(&root().join("spin.toml")).unwrap())
}

/// The Secret templates: what `kubectl apply` gets once filled in.
fn secret_templates() -> Vec<Value> {
    documents(&std::fs::read_to_string(deploy_dir().join("secret.example.yaml")).unwrap())
}

// ---------------------------------------------------------- object helpers

fn kind(o: &Value) -> &str {
    o["kind"].as_str().unwrap_or("")
}

fn name(o: &Value) -> &str {
    o["metadata"]["name"].as_str().unwrap_or("")
}

fn id(o: &Value) -> String {
    format!("{}/{}", kind(o), name(o))
}

fn of_kind<'a>(objects: &'a [Value], k: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    objects.iter().filter(move |o| kind(o) == k)
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The pod spec of a workload, if the object makes pods.
fn pod_spec(o: &Value) -> Option<&Value> {
    match kind(o) {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            Some(&o["spec"]["template"]["spec"])
        }
        "CronJob" => Some(&o["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
        "Pod" => Some(&o["spec"]),
        _ => None,
    }
}

fn containers(pod: &Value) -> Vec<&Value> {
    ["initContainers", "containers"]
        .iter()
        .flat_map(|k| pod[*k].as_array().into_iter().flatten())
        .collect()
}

/// The labels of the pods an object makes (SpinKube labels an app's pods
/// core.spinkube.dev/app-name=<SpinApp name>, plus spec.podLabels).
fn pod_labels(o: &Value) -> Option<BTreeMap<String, String>> {
    let labels = match kind(o) {
        "SpinApp" => {
            let mut l = labels_of(&o["spec"]["podLabels"]);
            l.insert("core.spinkube.dev/app-name".into(), name(o).into());
            return Some(l);
        }
        "CronJob" => &o["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"],
        "Pod" => &o["metadata"]["labels"],
        _ if pod_spec(o).is_some() => &o["spec"]["template"]["metadata"]["labels"],
        _ => return None,
    };
    Some(labels_of(labels))
}

fn labels_of(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// A Kubernetes label selector (matchLabels and matchExpressions).
fn selects(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    let by_label = labels_of(&selector["matchLabels"])
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_expression = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e["key"].as_str().unwrap_or("");
            let values = strings(&e["values"]);
            let value = labels.get(key).map(String::as_str);
            match e["operator"].as_str().unwrap_or("") {
                "In" => value.is_some_and(|v| values.contains(&v)),
                "NotIn" => !value.is_some_and(|v| values.contains(&v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        });
    by_label && by_expression
}

fn is_empty_selector(selector: &Value) -> bool {
    selector.as_object().is_none_or(|m| m.is_empty())
}

/// `{{ name }}` references in a spin.toml template string.
fn template_variables(text: &str) -> Vec<String> {
    text.split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}"))
        .map(|(inner, _)| inner.trim().to_string())
        .collect()
}

/// The components a SpinApp runs (all of spin.toml's when none are listed).
fn selected(app: &Value, spin: &Manifest) -> Vec<String> {
    match app["spec"]["components"].as_array() {
        Some(list) => list
            .iter()
            .map(|c| c.as_str().unwrap_or("").to_string())
            .collect(),
        None => spin.component.keys().cloned().collect(),
    }
}

fn http_components(spin: &Manifest) -> BTreeSet<String> {
    spin.trigger
        .http
        .iter()
        .map(|t| t.component.clone())
        .collect()
}

fn redis_components(spin: &Manifest) -> BTreeSet<String> {
    spin.trigger
        .redis
        .iter()
        .map(|t| t.component.clone())
        .collect()
}

/// The variables a SpinApp's components read: their `variables` and
/// `allowed_outbound_hosts` templates, the Redis trigger's address when one
/// of them is Redis-triggered, and every required variable (Spin resolves
/// those at start whichever components run).
fn variables_read(app: &Value, spin: &Manifest) -> BTreeSet<String> {
    let mut read: BTreeSet<String> = spin
        .variables
        .iter()
        .filter(|(_, d)| d.required && d.default.is_none())
        .map(|(n, _)| n.clone())
        .collect();
    let components = selected(app, spin);
    for c in &components {
        if let Some(def) = spin.component.get(c) {
            for text in def.variables.values().chain(&def.allowed_outbound_hosts) {
                read.extend(template_variables(text));
            }
        }
    }
    let redis = redis_components(spin);
    if components.iter().any(|c| redis.contains(c)) {
        if let Some(r) = &spin.application.trigger.redis {
            read.extend(template_variables(&r.address));
        }
        for t in &spin.trigger.redis {
            read.extend(template_variables(t.address.as_deref().unwrap_or("")));
        }
    }
    read
}

fn sync_wave(o: &Value) -> i64 {
    o["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
        .as_str()
        .map(|w| w.parse().expect("a sync wave is an integer"))
        .unwrap_or(0)
}

fn is_datastore(o: &Value) -> bool {
    o["metadata"]["labels"]["app.kubernetes.io/component"] == "datastore"
}

// ------------------------------------------------------------------- CRDs

fn crd_dir() -> PathBuf {
    root().join("../shared/k8s-crds")
}

/// The CRDs live beside the repository (CI has them; they are not copied in).
/// Without them the CRD checks say so and check nothing.
fn crds_present() -> bool {
    let present = crd_dir().join("core.spinkube.dev_spinapps.yaml").exists();
    if !present {
        eprintln!("skipped: no SpinKube CRDs at {}", crd_dir().display());
    }
    present
}

fn yaml(path: &Path) -> Value {
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

/// SpinKube objects against their CRD; another kind of that API group is an
/// error (no CRD would accept it). Returns the errors and how many objects
/// were validated.
fn crd_violations(objects: &[Value]) -> (Vec<String>, usize) {
    let mut errors = Vec::new();
    let mut validated = 0;
    for o in objects.iter().filter(|o| o["apiVersion"] == SPINKUBE_API) {
        let Some((_, file)) = CRD_KINDS.iter().find(|(k, _)| *k == kind(o)) else {
            errors.push(format!("{}: no SpinKube CRD has this kind", id(o)));
            continue;
        };
        validated += 1;
        let v = validator(file);
        errors.extend(
            v.iter_errors(o)
                .map(|e| format!("{}: {e} at {}", id(o), e.instance_path())),
        );
    }
    (errors, validated)
}

// ----------------------------------------------------- Kubernetes schemas

/// Everything outside SpinKube's API group through `kubernetes-validate
/// --strict` for each of KUBERNETES_VERSIONS. The validator exits 0 on a
/// kind it has no schema for, so each object must be reported as passed for
/// every version: anything else (a misspelt kind, a CRD it does not know)
/// fails.
fn kubernetes_violations(objects: &[Value], label: &str) -> (Vec<String>, usize) {
    let builtin: Vec<&Value> = objects
        .iter()
        .filter(|o| o["apiVersion"] != SPINKUBE_API)
        .collect();
    if builtin.is_empty() {
        return (vec![], 0);
    }
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "deploy-{label}-{}-{:?}.yaml",
        std::process::id(),
        std::thread::current().id()
    ));
    // JSON documents: valid YAML, and no YAML 1.1 reader (PyYAML here, Go's
    // yaml in kubectl) can take a plain `no` for false.
    let text = builtin
        .iter()
        .map(|o| serde_json::to_string(o).unwrap())
        .collect::<Vec<_>>()
        .join("\n---\n");
    std::fs::write(&file, text).unwrap();
    let mut cmd = Command::new(tools_bin().join("kubernetes-validate"));
    cmd.arg("--strict");
    for v in KUBERNETES_VERSIONS {
        cmd.args(["-k", v]);
    }
    let out = cmd
        .arg(&file)
        .output()
        .expect("running kubernetes-validate");
    let _ = std::fs::remove_file(&file);
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut errors: Vec<String> = report
        .lines()
        .filter(|l| !l.is_empty() && !l.contains(" passed for resource "))
        .map(|l| l.replace(&file.display().to_string(), label))
        .collect();
    let passed = report
        .lines()
        .filter(|l| l.contains(" passed for resource "))
        .count();
    let expected = builtin.len() * KUBERNETES_VERSIONS.len();
    if passed != expected || !out.status.success() {
        errors.push(format!(
            "{label}: {passed} of {expected} object×version checks passed ({})",
            out.status
        ));
    }
    (errors, builtin.len())
}

// ---------------------------------------------------------- project rules

/// What the rules look at: one overlay's objects, spin.toml and the Secret
/// templates.
struct Deployment<'a> {
    objects: &'a [Value],
    spin: &'a Manifest,
    secrets: &'a [Value],
}

impl Deployment<'_> {
    fn spinapps(&self) -> impl Iterator<Item = &Value> {
        of_kind(self.objects, "SpinApp")
    }

    /// The ConfigMap or Secret (rendered, or a template) a reference names.
    fn source(&self, k: &str, name: &str) -> Option<&Value> {
        self.objects
            .iter()
            .chain(self.secrets)
            .find(|o| kind(o) == k && self::name(o) == name)
    }

    /// Checks one `valueFrom` (SpinApp variable or container env).
    fn check_value_from(&self, whose: &str, value_from: &Value, errors: &mut Vec<String>) {
        for (key_ref, k) in [("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")] {
            let r = &value_from[key_ref];
            if r.is_null() {
                continue;
            }
            let (name, key) = (r["name"].as_str().unwrap_or(""), r["key"].as_str());
            match self.source(k, name) {
                None => errors.push(format!(
                    "{whose}: no {k} {name} in the overlay or templates"
                )),
                Some(src) => {
                    let has = |field: &str| key.is_some_and(|key| !src[field][key].is_null());
                    if !(has("data") || has("stringData") || has("binaryData")) {
                        errors.push(format!("{whose}: {k} {name} has no key {key:?}"));
                    }
                }
            }
        }
    }
}

/// Every variable spin.toml requires (required = true, no default), and
/// every other one the selected components read, is provided, each from a
/// ConfigMap or a Secret key that exists; none is unknown to spin.toml.
fn variable_violations(d: &Deployment) -> Vec<String> {
    let mut errors = Vec::new();
    for app in d.spinapps() {
        let provided: Vec<&Value> = app["spec"]["variables"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let names: BTreeSet<&str> = provided.iter().filter_map(|v| v["name"].as_str()).collect();
        for (var, def) in &d.spin.variables {
            if def.required && def.default.is_none() && !names.contains(var.as_str()) {
                errors.push(format!(
                    "{}: spin.toml requires {var}; it is not provided",
                    id(app)
                ));
            }
        }
        for var in variables_read(app, d.spin) {
            if !names.contains(var.as_str()) {
                errors.push(format!(
                    "{}: its components read {var}; it is not provided",
                    id(app)
                ));
            }
        }
        for v in provided {
            let var = v["name"].as_str().unwrap_or("");
            let whose = format!("{} variable {var}", id(app));
            if !d.spin.variables.contains_key(var) {
                errors.push(format!("{whose}: not a spin.toml variable"));
            }
            if v["valueFrom"].is_null() {
                errors.push(format!(
                    "{whose}: a literal; take it from the ConfigMap or Secret"
                ));
            }
            d.check_value_from(&whose, &v["valueFrom"], &mut errors);
        }
    }
    errors
}

/// Secret values stay in Secrets: spin.toml's `secret = true` variables come
/// from secretKeyRef, no ConfigMap has a key named like one, and container
/// env that carries a secret (DATABASE_URL, *_PASSWORD, ...) is a
/// secretKeyRef too.
fn secret_violations(d: &Deployment) -> Vec<String> {
    let secret_vars: BTreeSet<String> = d
        .spin
        .variables
        .iter()
        .filter(|(_, def)| def.secret)
        .map(|(n, _)| n.clone())
        .collect();
    let is_secret_name = |env: &str| {
        let lower = env.to_ascii_lowercase();
        let bare = lower.strip_prefix("spin_variable_").unwrap_or(&lower);
        secret_vars.contains(bare)
            || ["password", "secret", "_token", "private_key", "server_key"]
                .iter()
                .any(|w| bare.ends_with(w))
    };
    let mut errors = Vec::new();
    for app in d.spinapps() {
        for v in app["spec"]["variables"].as_array().into_iter().flatten() {
            let var = v["name"].as_str().unwrap_or("");
            if secret_vars.contains(var) && v["valueFrom"]["secretKeyRef"].is_null() {
                errors.push(format!(
                    "{} variable {var}: secret in spin.toml, so it comes from a Secret",
                    id(app)
                ));
            }
        }
    }
    for cm in of_kind(d.objects, "ConfigMap") {
        for key in cm["data"].as_object().into_iter().flatten().map(|(k, _)| k) {
            if is_secret_name(key) {
                errors.push(format!("{}: key {key} is a secret", id(cm)));
            }
        }
    }
    for o in d.objects {
        let Some(pod) = pod_spec(o) else { continue };
        for c in containers(pod) {
            for e in c["env"].as_array().into_iter().flatten() {
                let env = e["name"].as_str().unwrap_or("");
                if is_secret_name(env) && e["valueFrom"]["secretKeyRef"].is_null() {
                    errors.push(format!(
                        "{} container {}: {env} is a secret; use secretKeyRef",
                        id(o),
                        c["name"]
                    ));
                }
                if !e["valueFrom"].is_null() {
                    let whose = format!("{} env {env}", id(o));
                    d.check_value_from(&whose, &e["valueFrom"], &mut errors);
                }
            }
        }
    }
    errors
}

/// Every selected component exists in spin.toml; every triggered component
/// runs in exactly one SpinApp; an app with an HTTP trigger has SpinKube's
/// HTTP probes, and one without has none (they probe port 80, where nothing
/// would listen); a Redis-trigger app runs one replica (each replica would
/// get every pub/sub message).
fn component_violations(d: &Deployment) -> Vec<String> {
    let mut errors = Vec::new();
    let (http, redis) = (http_components(d.spin), redis_components(d.spin));
    let mut runs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for app in d.spinapps() {
        let components = selected(app, d.spin);
        for c in &components {
            if !d.spin.component.contains_key(c) {
                errors.push(format!("{}: component {c} is not in spin.toml", id(app)));
            }
            runs.entry(c.clone()).or_default().push(id(app));
        }
        let serves_http = components.iter().any(|c| http.contains(c));
        let checks = &app["spec"]["checks"];
        if serves_http {
            for probe in ["liveness", "readiness"] {
                if checks[probe]["httpGet"]["path"].as_str().is_none() {
                    errors.push(format!("{}: serves HTTP but has no {probe} check", id(app)));
                }
            }
        } else if !checks.is_null() {
            errors.push(format!(
                "{}: no HTTP trigger, so nothing answers SpinKube's port-80 checks",
                id(app)
            ));
        }
        if components.iter().any(|c| redis.contains(c)) {
            if serves_http {
                errors.push(format!(
                    "{}: mixes HTTP and Redis triggers (a Redis disconnect would end the HTTP server)",
                    id(app)
                ));
            }
            if app["spec"]["replicas"] != 1 || app["spec"]["enableAutoscaling"] == true {
                errors.push(format!(
                    "{}: Redis-trigger apps run exactly one replica",
                    id(app)
                ));
            }
        }
    }
    for c in http.iter().chain(&redis) {
        match runs.get(c).map(Vec::len) {
            Some(1) => {}
            None => errors.push(format!("triggered component {c} runs in no SpinApp")),
            Some(_) => errors.push(format!("{c} runs in several SpinApps: {:?}", runs[c])),
        }
    }
    errors
}

/// `name:tag`, `name@sha256:<64 hex>` or both; never `latest`.
fn image_pinned(image: &str) -> bool {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let digest_ok = digest.map(|d| {
        d.strip_prefix("sha256:")
            .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    });
    let last = rest.rsplit('/').next().unwrap_or(rest);
    let tag = last.split_once(':').map(|(_, t)| t);
    match (tag, digest_ok) {
        (Some("latest" | ""), _) | (_, Some(false)) => false,
        (Some(_), _) | (None, Some(true)) => true,
        (None, _) => false,
    }
}

fn image_violations(d: &Deployment) -> Vec<String> {
    let mut images: Vec<(String, &str)> = d
        .spinapps()
        .map(|a| (id(a), a["spec"]["image"].as_str().unwrap_or("")))
        .collect();
    for o in d.objects {
        if let Some(pod) = pod_spec(o) {
            for c in containers(pod) {
                images.push((id(o), c["image"].as_str().unwrap_or("")));
            }
        }
    }
    images
        .into_iter()
        .filter(|(_, image)| !image_pinned(image))
        .map(|(who, image)| format!("{who}: image {image:?} is not pinned by tag or digest"))
        .collect()
}

/// Every container has requests (cpu, memory), a memory limit, liveness
/// and readiness probes (Jobs exempt from probes: they end); every SpinApp
/// has requests and a memory limit (its probes: component_violations).
fn container_violations(d: &Deployment) -> Vec<String> {
    let mut errors = Vec::new();
    let resources_ok = |r: &Value| {
        r["requests"]["cpu"].is_string()
            && r["requests"]["memory"].is_string()
            && r["limits"]["memory"].is_string()
    };
    for app in d.spinapps() {
        if !resources_ok(&app["spec"]["resources"]) {
            errors.push(format!(
                "{}: resources need requests.cpu/memory and limits.memory",
                id(app)
            ));
        }
    }
    for o in d.objects {
        let Some(pod) = pod_spec(o) else { continue };
        let ends = matches!(kind(o), "Job" | "CronJob");
        for c in containers(pod) {
            let who = format!("{} container {}", id(o), c["name"].as_str().unwrap_or("?"));
            if !resources_ok(&c["resources"]) {
                errors.push(format!(
                    "{who}: resources need requests.cpu/memory and limits.memory"
                ));
            }
            if !ends && (c["livenessProbe"].is_null() || c["readinessProbe"].is_null()) {
                errors.push(format!("{who}: needs liveness and readiness probes"));
            }
        }
    }
    errors
}

/// SpinKube: `enableAutoscaling` needs `replicas` unset (the operator
/// refuses both) and something that scales the Deployment it makes (named
/// after the SpinApp); otherwise replicas ≥ 1. An HPA scales only an
/// autoscaling SpinApp's Deployment or a workload of the overlay.
fn scaling_violations(d: &Deployment) -> Vec<String> {
    let mut errors = Vec::new();
    let hpas: Vec<&Value> = of_kind(d.objects, "HorizontalPodAutoscaler").collect();
    let targets = |n: &str| {
        hpas.iter().any(|h| {
            let t = &h["spec"]["scaleTargetRef"];
            t["kind"] == "Deployment" && t["apiVersion"] == "apps/v1" && t["name"] == n
        })
    };
    let mut scalable: BTreeSet<String> = BTreeSet::new();
    for app in d.spinapps() {
        let spec = &app["spec"];
        if spec["enableAutoscaling"] == true {
            scalable.insert(format!("Deployment/{}", name(app)));
            if !spec["replicas"].is_null() {
                errors.push(format!("{}: enableAutoscaling with replicas set", id(app)));
            }
            if !targets(name(app)) {
                errors.push(format!(
                    "{}: autoscaling, but no HPA targets its Deployment",
                    id(app)
                ));
            }
        } else if spec["replicas"].as_u64().unwrap_or(0) < 1 {
            errors.push(format!(
                "{}: needs replicas ≥ 1 (or enableAutoscaling)",
                id(app)
            ));
        }
    }
    for o in d.objects.iter().filter(|o| pod_spec(o).is_some()) {
        scalable.insert(id(o));
    }
    for h in hpas {
        let t = &h["spec"]["scaleTargetRef"];
        let target = format!(
            "{}/{}",
            t["kind"].as_str().unwrap_or(""),
            t["name"].as_str().unwrap_or("")
        );
        if !scalable.contains(&target) {
            errors.push(format!(
                "{}: targets {target}, which nothing here makes scalable",
                id(h)
            ));
        }
    }
    errors
}

/// A PodDisruptionBudget covers the pods of every HTTP SpinApp and of the
/// relay.
fn disruption_violations(d: &Deployment) -> Vec<String> {
    let http = http_components(d.spin);
    let mut covered: Vec<&Value> = d
        .spinapps()
        .filter(|a| selected(a, d.spin).iter().any(|c| http.contains(c)))
        .collect();
    covered.extend(of_kind(d.objects, "Deployment").filter(|o| name(o) == "outbox-relay"));
    if covered.len() < 2 {
        return vec![format!(
            "expected the gateway app and the relay, found {}",
            covered.len()
        )];
    }
    covered
        .into_iter()
        .filter(|o| {
            let labels = pod_labels(o).unwrap_or_default();
            !of_kind(d.objects, "PodDisruptionBudget")
                .any(|p| selects(&p["spec"]["selector"], &labels))
        })
        .map(|o| format!("{}: no PodDisruptionBudget selects its pods", id(o)))
        .collect()
}

/// Default deny both ways; DNS out for every pod; only HTTP SpinApps'
/// pods admit traffic from outside the namespace (and they do); datastores
/// admit only pods of the platform's own workloads (SpinApps, the relay,
/// the migration Job), named by a non-empty selector.
fn network_violations(d: &Deployment) -> Vec<String> {
    let mut errors = Vec::new();
    let policies: Vec<&Value> = of_kind(d.objects, "NetworkPolicy").collect();
    let types = |p: &Value| strings(&p["spec"]["policyTypes"]).join(",");
    if !policies.iter().any(|p| {
        is_empty_selector(&p["spec"]["podSelector"])
            && types(p).contains("Ingress")
            && types(p).contains("Egress")
            && p["spec"]["ingress"].is_null()
            && p["spec"]["egress"].is_null()
    }) {
        errors.push("no default-deny NetworkPolicy (all pods, Ingress and Egress)".into());
    }
    if !policies.iter().any(|p| {
        is_empty_selector(&p["spec"]["podSelector"])
            && p["spec"]["egress"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| {
                    r["ports"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|port| port["port"] == 53 && port["protocol"] == "UDP")
                })
    }) {
        errors.push("no NetworkPolicy lets every pod resolve names (UDP 53)".into());
    }
    let http = http_components(d.spin);
    let pods: Vec<(String, BTreeMap<String, String>, &Value)> = d
        .objects
        .iter()
        .filter_map(|o| pod_labels(o).map(|l| (id(o), l, o)))
        .collect();
    let is_public =
        |o: &Value| kind(o) == "SpinApp" && selected(o, d.spin).iter().any(|c| http.contains(c));
    let is_client = |o: &Value| {
        kind(o) == "SpinApp" || (matches!(kind(o), "Deployment" | "Job") && !is_datastore(o))
    };
    let mut public_reached = false;
    for p in &policies {
        let selected_pods: Vec<&(String, BTreeMap<String, String>, &Value)> = pods
            .iter()
            .filter(|(_, labels, _)| selects(&p["spec"]["podSelector"], labels))
            .collect();
        for rule in p["spec"]["ingress"].as_array().into_iter().flatten() {
            let peers = rule["from"].as_array().cloned().unwrap_or_default();
            let external = peers.is_empty()
                || peers
                    .iter()
                    .any(|peer| !peer["namespaceSelector"].is_null() || !peer["ipBlock"].is_null());
            for (who, _, o) in &selected_pods {
                if external && !is_public(o) {
                    errors.push(format!(
                        "{}: admits traffic from outside the namespace to {who}",
                        id(p)
                    ));
                }
                if external && is_public(o) {
                    public_reached = true;
                }
                if is_datastore(o) {
                    for peer in &peers {
                        if is_empty_selector(&peer["podSelector"]) {
                            errors.push(format!("{}: {who} admits every pod", id(p)));
                        }
                        for (client, _, c) in pods
                            .iter()
                            .filter(|(_, l, _)| selects(&peer["podSelector"], l))
                        {
                            if !is_client(c) {
                                errors
                                    .push(format!("{}: {client} may reach datastore {who}", id(p)));
                            }
                        }
                    }
                }
            }
        }
    }
    if !public_reached {
        errors.push("no NetworkPolicy admits outside traffic to the gateway".into());
    }
    errors
}

/// The migration runs before the apps roll: its sync wave is below every
/// app's, above the dev datastores'; it carries the label the README's
/// first apply selects; its name carries its image's tag (a Job's template
/// cannot change, so each release is a new Job).
fn ordering_violations(d: &Deployment) -> Vec<String> {
    let mut errors = Vec::new();
    let jobs: Vec<&Value> = of_kind(d.objects, "Job").collect();
    if jobs.len() != 1 {
        return vec![format!("expected one migration Job, found {}", jobs.len())];
    }
    let job = jobs[0];
    if job["metadata"]["labels"]["app.kubernetes.io/component"] != "migrate" {
        errors.push(format!(
            "{}: needs app.kubernetes.io/component=migrate",
            id(job)
        ));
    }
    for o in d.objects {
        let app = matches!(kind(o), "SpinApp" | "Deployment");
        if app && sync_wave(o) <= sync_wave(job) {
            errors.push(format!(
                "{}: rolls in sync wave {} ≤ the Job's {}",
                id(o),
                sync_wave(o),
                sync_wave(job)
            ));
        }
        if is_datastore(o) && pod_spec(o).is_some() && sync_wave(o) >= sync_wave(job) {
            errors.push(format!(
                "{}: datastore in sync wave {} ≥ the Job's",
                id(o),
                sync_wave(o)
            ));
        }
    }
    let image = job["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or("");
    let tag = image
        .split('@')
        .next()
        .and_then(|i| i.rsplit('/').next())
        .and_then(|last| last.split_once(':'))
        .map(|(_, t)| t.replace('.', "-"))
        .unwrap_or_default();
    if tag.is_empty() || !name(job).ends_with(&format!("-{tag}")) {
        errors.push(format!(
            "{}: its name does not carry its image tag {tag:?}",
            id(job)
        ));
    }
    errors
}

type Rule = fn(&Deployment) -> Vec<String>;

/// Runs one rule over every rendered overlay; fails listing every violation.
fn holds(rule: Rule) {
    let spin = spin();
    let secrets = secret_templates();
    let mut errors = Vec::new();
    for (overlay, objects) in rendered() {
        let d = Deployment {
            objects,
            spin,
            secrets: &secrets,
        };
        errors.extend(rule(&d).into_iter().map(|e| format!("{overlay}: {e}")));
    }
    assert!(errors.is_empty(), "{errors:#?}");
}

// ------------------------------------------------------------------ tests

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
        assert!(n >= 3, "{overlay}: the two SpinApps and the executor");
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
