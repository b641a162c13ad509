//! Building the storefront (storefront/, Vite + npm) before the components:
//! the `storefront` component embeds `storefront/dist` at compile time.
//! `npm ci` runs when the lockfile is newer than `node_modules`, the Vite
//! build when a source is newer than `dist/index.html`, so an unchanged
//! storefront costs nothing (and does not rebuild its component).

use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

use anyhow::Context;

use crate::run;

const DIR: &str = "storefront";
/// What the build reads besides `src/`.
const INPUTS: &[&str] = &[
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
    // src/lib/api-schema.ts is generated from the document (npm run gen:api,
    // before build and test): a change to it must rebuild and recheck.
    "../openapi/openapi.json",
    "scripts/api-gen/gen.mjs",
];

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file or of anything under a directory.
fn newest(path: &Path) -> Option<SystemTime> {
    let own = modified(path);
    let Ok(entries) = std::fs::read_dir(path) else {
        return own;
    };
    entries
        .flatten()
        .filter_map(|e| newest(&e.path()))
        .chain(own)
        .max()
}

fn npm() -> Command {
    let mut cmd = Command::new("npm");
    cmd.current_dir(DIR);
    cmd
}

/// `npm ci` if `node_modules` is missing or older than the lockfile.
pub fn install() -> anyhow::Result<()> {
    let dir = Path::new(DIR);
    let installed = modified(&dir.join("node_modules/.package-lock.json"));
    let locked = modified(&dir.join("package-lock.json"));
    if installed.is_none() || locked > installed {
        run(npm().args(["ci", "--no-audit", "--no-fund"]))
            .context("npm ci in storefront/ (Node.js 20 and npm are needed)")?;
    }
    Ok(())
}

/// Installs if needed, then builds `storefront/dist` if a source changed.
pub fn build() -> anyhow::Result<()> {
    install()?;
    let dir = Path::new(DIR);
    let built = modified(&dir.join("dist/index.html"));
    let source = INPUTS.iter().filter_map(|p| newest(&dir.join(p))).max();
    if built.is_none() || source > built {
        run(npm().args(["run", "build"])).context("building the storefront")?;
    }
    Ok(())
}

/// The storefront's own tests: types and Vitest (the browser journey is an
/// integration test, `storefront_browser`).
pub fn test() -> anyhow::Result<()> {
    install()?;
    run(npm().args(["test"]))
}
