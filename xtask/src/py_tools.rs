//! The Python tools the tests run, each set pinned in a requirements file and
//! installed from PyPI into a venv under the target directory, so that
//! `cargo xtask test` works on a fresh clone: the deployment's validators
//! (kubectl with Kustomize, kubernetes-validate) and the API fuzzer
//! (Schemathesis). A venv is reused while it was made from the same
//! requirements (a stamp file holds them).

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;

use crate::{env, run};

/// One venv: its directory under the target directory, its requirements
/// file (from the workspace root) and the commands it must provide.
pub struct Venv {
    pub dir: &'static str,
    pub requirements: &'static str,
    pub tools: &'static [&'static str],
}

/// For tests/integration/tests/api/deploy_manifests.rs (DEPLOY_TOOLS_BIN).
pub const DEPLOY: Venv = Venv {
    dir: "deploy-tools",
    requirements: "deploy/tools-requirements.txt",
    tools: &["kubectl", "kubernetes-validate"],
};

/// For tests/integration/tests/api/contract_fuzz.rs (FUZZ_TOOLS_BIN).
pub const FUZZ: Venv = Venv {
    dir: "fuzz-tools",
    requirements: "openapi/fuzz-requirements.txt",
    tools: &["schemathesis"],
};

/// Makes (or reuses) the venv; returns its `bin` directory.
pub fn ensure(venv: &Venv) -> anyhow::Result<PathBuf> {
    let requirements = env::workspace_root()?.join(venv.requirements);
    let wanted = std::fs::read_to_string(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let dir = env::target_dir()?.join(venv.dir);
    let bin = dir.join("bin");
    let stamp = dir.join("requirements.installed");
    let complete = venv.tools.iter().all(|tool| bin.join(tool).exists());
    if complete && std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(bin);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    run(Command::new("python3").args(["-m", "venv"]).arg(&dir))?;
    run(Command::new(bin.join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements))?;
    std::fs::write(&stamp, wanted)?;
    Ok(bin)
}
