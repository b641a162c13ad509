//! The tools (kubectl, kubernetes-validate) and what they render: each
//! overlay, spin.toml, the Secret templates.

use super::*;

pub(crate) fn root() -> PathBuf {
    integration::workspace_root()
}

pub(crate) fn deploy_dir() -> PathBuf {
    root().join("deploy/kubernetes")
}

/// DEPLOY_TOOLS_BIN (set by `cargo xtask test`), else the venv xtask makes
/// in target/deploy-tools. Missing tools fail the test.
pub(crate) fn tools_bin() -> PathBuf {
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
pub(crate) fn documents(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("YAML: {e}")))
        .filter(|v| !v.is_null())
        .collect()
}

pub(crate) fn render(overlay: &str) -> Vec<Value> {
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
pub(crate) fn rendered() -> &'static BTreeMap<&'static str, Vec<Value>> {
    static RENDERED: OnceLock<BTreeMap<&'static str, Vec<Value>>> = OnceLock::new();
    RENDERED.get_or_init(|| OVERLAYS.iter().map(|o| (*o, render(o))).collect())
}

pub(crate) fn spin() -> &'static Manifest {
    static SPIN: OnceLock<Manifest> = OnceLock::new();
    SPIN.get_or_init(|| Manifest::load(&root().join("spin.toml")).unwrap())
}

/// The Secret templates: what `kubectl apply` gets once filled in.
pub(crate) fn secret_templates() -> Vec<Value> {
    documents(&std::fs::read_to_string(deploy_dir().join("secret.example.yaml")).unwrap())
}
