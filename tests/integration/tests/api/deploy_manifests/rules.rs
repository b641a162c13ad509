//! The project's own rules over one rendered overlay.

use super::*;

/// What the rules look at: one overlay's objects, spin.toml and the Secret
/// templates.
pub(crate) struct Deployment<'a> {
    pub(crate) objects: &'a [Value],
    pub(crate) spin: &'a Manifest,
    pub(crate) secrets: &'a [Value],
}

impl Deployment<'_> {
    pub(crate) fn spinapps(&self) -> impl Iterator<Item = &Value> {
        of_kind(self.objects, "SpinApp")
    }

    /// The ConfigMap or Secret (rendered, or a template) a reference names.
    pub(crate) fn source(&self, k: &str, name: &str) -> Option<&Value> {
        self.objects
            .iter()
            .chain(self.secrets)
            .find(|o| kind(o) == k && self::name(o) == name)
    }

    /// Checks one `valueFrom` (SpinApp variable or container env).
    pub(crate) fn check_value_from(
        &self,
        whose: &str,
        value_from: &Value,
        errors: &mut Vec<String>,
    ) {
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
pub(crate) fn variable_violations(d: &Deployment) -> Vec<String> {
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
pub(crate) fn secret_violations(d: &Deployment) -> Vec<String> {
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
pub(crate) fn component_violations(d: &Deployment) -> Vec<String> {
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
pub(crate) fn image_pinned(image: &str) -> bool {
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

pub(crate) fn image_violations(d: &Deployment) -> Vec<String> {
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
pub(crate) fn container_violations(d: &Deployment) -> Vec<String> {
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
pub(crate) fn scaling_violations(d: &Deployment) -> Vec<String> {
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
pub(crate) fn disruption_violations(d: &Deployment) -> Vec<String> {
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
pub(crate) fn network_violations(d: &Deployment) -> Vec<String> {
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
pub(crate) fn ordering_violations(d: &Deployment) -> Vec<String> {
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

/// Every key-value label a selected component lists is configured in its
/// SpinApp (Spin refuses to start otherwise) as Redis whose `url` is the
/// Secret's `redis_url`: the cached reads must see the Redis the
/// write-through scripts write (runtime-config.toml says why).
pub(crate) fn key_value_violations(d: &Deployment) -> Vec<String> {
    let mut errors = Vec::new();
    for app in d.spinapps() {
        let stores = app["spec"]["runtimeConfig"]["keyValueStores"].as_array();
        let store = |label: &str| stores?.iter().find(|s| s["name"] == label);
        for c in selected(app, d.spin) {
            let Some(component) = d.spin.component.get(&c) else {
                continue;
            };
            for label in &component.key_value_stores {
                let Some(s) = store(label) else {
                    errors.push(format!(
                        "{}: {c} lists key-value store {label:?}, which its runtimeConfig does not define",
                        id(app)
                    ));
                    continue;
                };
                let url = s["options"]
                    .as_array()
                    .and_then(|o| o.iter().find(|o| o["name"] == "url"));
                let from = url.map(|u| &u["valueFrom"]["secretKeyRef"]["key"]);
                if s["type"] != "redis" || from.is_none_or(|k| k != "redis_url") {
                    errors.push(format!(
                        "{}: key-value store {label:?} must be type redis with its url from the Secret key redis_url",
                        id(app)
                    ));
                }
            }
        }
    }
    errors
}

pub(crate) type Rule = fn(&Deployment) -> Vec<String>;

/// Runs one rule over every rendered overlay; fails listing every violation.
pub(crate) fn holds(rule: Rule) {
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
