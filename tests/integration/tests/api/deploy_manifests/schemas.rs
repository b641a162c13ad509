//! Validation against schemas: SpinKube's CRDs (strict) and the
//! Kubernetes schemas through `kubernetes-validate --strict`.

use super::*;

pub(crate) fn crd_dir() -> PathBuf {
    root().join("../shared/k8s-crds")
}

/// The CRDs live beside the repository (CI has them; they are not copied in).
/// Without them the CRD checks say so and check nothing.
pub(crate) fn crds_present() -> bool {
    let present = crd_dir().join("core.spinkube.dev_spinapps.yaml").exists();
    if !present {
        eprintln!("skipped: no SpinKube CRDs at {}", crd_dir().display());
    }
    present
}

pub(crate) fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Objects that list their properties accept no others (unless the CRD says so).
pub(crate) fn strict(schema: &mut Value) {
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

pub(crate) fn validator(crd_file: &str) -> jsonschema::Validator {
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
pub(crate) fn crd_violations(objects: &[Value]) -> (Vec<String>, usize) {
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
pub(crate) fn kubernetes_violations(objects: &[Value], label: &str) -> (Vec<String>, usize) {
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
