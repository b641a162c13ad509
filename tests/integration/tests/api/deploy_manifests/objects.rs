//! Reading rendered Kubernetes objects: kinds, names, pod specs, labels,
//! selectors, and what a SpinApp selects and reads from spin.toml.

use super::*;

pub(crate) fn kind(o: &Value) -> &str {
    o["kind"].as_str().unwrap_or("")
}

pub(crate) fn name(o: &Value) -> &str {
    o["metadata"]["name"].as_str().unwrap_or("")
}

pub(crate) fn id(o: &Value) -> String {
    format!("{}/{}", kind(o), name(o))
}

pub(crate) fn of_kind<'a>(
    objects: &'a [Value],
    k: &'a str,
) -> impl Iterator<Item = &'a Value> + 'a {
    objects.iter().filter(move |o| kind(o) == k)
}

pub(crate) fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The pod spec of a workload, if the object makes pods.
pub(crate) fn pod_spec(o: &Value) -> Option<&Value> {
    match kind(o) {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            Some(&o["spec"]["template"]["spec"])
        }
        "CronJob" => Some(&o["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
        "Pod" => Some(&o["spec"]),
        _ => None,
    }
}

pub(crate) fn containers(pod: &Value) -> Vec<&Value> {
    ["initContainers", "containers"]
        .iter()
        .flat_map(|k| pod[*k].as_array().into_iter().flatten())
        .collect()
}

/// The labels of the pods an object makes (SpinKube labels an app's pods
/// core.spinkube.dev/app-name=<SpinApp name>, plus spec.podLabels).
pub(crate) fn pod_labels(o: &Value) -> Option<BTreeMap<String, String>> {
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

pub(crate) fn labels_of(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// A Kubernetes label selector (matchLabels and matchExpressions).
pub(crate) fn selects(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
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

pub(crate) fn is_empty_selector(selector: &Value) -> bool {
    selector.as_object().is_none_or(|m| m.is_empty())
}

/// `{{ name }}` references in a spin.toml template string.
pub(crate) fn template_variables(text: &str) -> Vec<String> {
    text.split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}"))
        .map(|(inner, _)| inner.trim().to_string())
        .collect()
}

/// The components a SpinApp runs (all of spin.toml's when none are listed).
pub(crate) fn selected(app: &Value, spin: &Manifest) -> Vec<String> {
    match app["spec"]["components"].as_array() {
        Some(list) => list
            .iter()
            .map(|c| c.as_str().unwrap_or("").to_string())
            .collect(),
        None => spin.component.keys().cloned().collect(),
    }
}

pub(crate) fn http_components(spin: &Manifest) -> BTreeSet<String> {
    spin.trigger
        .http
        .iter()
        .map(|t| t.component.clone())
        .collect()
}

pub(crate) fn redis_components(spin: &Manifest) -> BTreeSet<String> {
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
pub(crate) fn variables_read(app: &Value, spin: &Manifest) -> BTreeSet<String> {
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

pub(crate) fn sync_wave(o: &Value) -> i64 {
    o["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
        .as_str()
        .map(|w| w.parse().expect("a sync wave is an integer"))
        .unwrap_or(0)
}

pub(crate) fn is_datastore(o: &Value) -> bool {
    o["metadata"]["labels"]["app.kubernetes.io/component"] == "datastore"
}
