//! The tools that validate the SpinKube deployment (kubectl with Kustomize,
//! kubernetes-validate), pinned in deploy/tools-requirements.txt and
//! installed from PyPI into a venv under the target directory, so that
//! `cargo xtask test` works on a fresh clone. The venv is reused while it
//! was made from the same requirements (a stamp file holds them).

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;

use crate::{env, run};

/// Makes (or reuses) target/deploy-tools; returns its `bin` directory,
/// which the tests get as DEPLOY_TOOLS_BIN.
pub fn ensure() -> anyhow::Result<PathBuf> {
    let requirements = env::workspace_root()?.join("deploy/tools-requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let venv = env::target_dir()?.join("deploy-tools");
    let bin = venv.join("bin");
    let stamp = venv.join("requirements.installed");
    let complete = ["kubectl", "kubernetes-validate"]
        .iter()
        .all(|tool| bin.join(tool).exists());
    if complete && std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(bin);
    }
    if venv.exists() {
        std::fs::remove_dir_all(&venv).with_context(|| format!("removing {}", venv.display()))?;
    }
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run(Command::new(bin.join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements))?;
    std::fs::write(&stamp, wanted)?;
    Ok(bin)
}
