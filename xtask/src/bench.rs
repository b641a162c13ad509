//! `cargo xtask bench`: every scenario through the app, side by side with
//! the floor (a trivial component on the same runtime), a same-shaped probe
//! (a component making exactly the route's host calls) and a native baseline
//! (axum with pooled Postgres/Redis doing the same work), plus the host's
//! exact per-request counts. Ratios and counts are what to compare.
//!
//! The scenarios are data (`scenarios.rs`), measured in order by
//! `measure.rs` against the servers of `servers.rs`, with the local
//! Postgres's CPU read around each measured run (`pg_cpu.rs`); `results.rs`
//! holds what a run found and prints the table.

mod backends;
mod measure;
mod pg_cpu;
mod pgbench;
mod results;
mod scenarios;
mod scripts;
mod servers;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::runtime::{self, Runtime};
use crate::{env, run, wrk};

use backends::Backends;
use results::{Instantiation, Results};
use servers::Servers;

pub struct Options {
    pub seconds: u32,
    pub connections: u32,
    pub runtime: Runtime,
}

/// Seeded products; every uncached and order run (warm-up and measured)
/// walks its own stretch of ids, eight stretches in all. A native target
/// reads ~17 000 uncached products a second on a fast 2-core machine: a
/// stretch holds 10 s of that (50 000 did not hold 5 s: its extra reads
/// were 404s past the seed).
const PRODUCTS: u64 = 1_600_000;
const RANGE: u64 = PRODUCTS / 8;

/// Servers may take a while to come up on a loaded 2-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(120);

pub fn bench(opts: Options) -> anyhow::Result<()> {
    // Before the long build: a missing or hanging `spin` fails at once.
    let spin = match opts.runtime {
        Runtime::Spin => Some(runtime::spin_binary()?),
        Runtime::Host => None,
    };
    wrk::ensure_installed()?;
    build()?;
    let root = env::workspace_root()?;
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out)?;
    let backends = Backends::start()?;
    let servers = Servers::start(&root, &out, spin.as_deref(), &backends)?;
    let scenarios = measure::scenarios(servers, &opts, &out, &backends.db_url)?;
    let instantiation = match opts.runtime {
        Runtime::Spin => None,
        Runtime::Host => Some(instantiation(&root, &backends)?),
    };
    let results = Results::new(&opts, scenarios, wasm_sizes(&root), instantiation)?;
    report(&out, &results)
}

fn build() -> anyhow::Result<()> {
    crate::build_components()?;
    run(crate::cargo().args([
        "build",
        "--profile",
        "bench-native",
        "-p",
        "platform-host",
        "-p",
        "baseline",
    ]))
}

fn wasm_sizes(root: &Path) -> BTreeMap<String, u64> {
    crate::COMPONENTS
        .iter()
        .map(|c| {
            let file = root.join(format!(
                "target/wasm32-wasip2/release/{}.wasm",
                c.replace('-', "_")
            ));
            let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
            (c.to_string(), bytes)
        })
        .collect()
}

/// p50/p99 instantiation of each HTTP component of the app (project host).
fn instantiation(root: &Path, backends: &Backends) -> anyhow::Result<Vec<Instantiation>> {
    let out = Command::new(root.join("target/bench-native/platform-host"))
        .args(["--from", "spin.toml", "--measure-instantiation", "500"])
        .arg("--runtime-config-file")
        .arg(&backends.runtime_config)
        .envs(&backends.variables)
        .env("RUST_LOG", "warn")
        .output()?;
    // A host that could not load the app measured nothing: say why.
    if !out.status.success() {
        anyhow::bail!(
            "measuring instantiation failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // One JSON object a line; anything else (a stray log line) is skipped.
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// The table and the rest on stdout; everything in `run-<unix time>.json`.
fn report(out: &Path, results: &Results) -> anyhow::Result<()> {
    println!();
    for line in results.table() {
        println!("{line}");
    }
    if let Some(line) = results.order_database_cpu() {
        println!("\n{line}");
    }
    let sizes = serde_json::to_string(&results.wasm_sizes)?;
    println!("\ncomponent sizes (bytes): {sizes}");
    let instantiation = serde_json::to_string(&results.instantiation)?;
    println!("instantiation per HTTP component: {instantiation}");
    let file = out.join(format!("run-{}.json", results.unix_time));
    std::fs::write(&file, serde_json::to_vec_pretty(results)?)?;
    println!("results: {}", file.display());
    Ok(())
}
