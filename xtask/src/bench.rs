//! `cargo xtask bench`: every scenario through the gateway, side by side
//! with the floor (a trivial component on the same runtime) and a native
//! baseline (axum with pooled Postgres/Redis doing the same work), plus the
//! host's exact per-request counts. Ratios are what to compare.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use test_support::{free_port, wait_listening, KillOnDrop};

use crate::{env, run, wrk};

pub struct Options {
    pub seconds: u32,
    pub connections: u32,
    pub runtime: Option<String>,
}

/// Seeded products; every uncached run walks its own stretch of ids.
const PRODUCTS: u64 = 400_000;
const RANGE: u64 = 100_000;

/// Servers may take a while to come up on a loaded 2-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A target under load: its address and, on the project host, its counters.
struct Target {
    name: &'static str,
    base: String,
    stats: Option<PathBuf>,
}

impl Target {
    fn counters(&self) -> Option<Value> {
        let path = self.stats.as_ref()?;
        std::thread::sleep(Duration::from_millis(450));
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }
}

pub fn bench(opts: Options) -> anyhow::Result<()> {
    wrk::ensure_installed()?;
    crate::build_components()?;
    run(crate::cargo().args([
        "build",
        "--profile",
        "bench-native",
        "-p",
        "platform-host",
        "-p",
        "baseline",
    ]))?;
    let root = env::workspace_root()?;
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out)?;
    let bin = root.join("target/bench-native");

    // A database and a Redis of the benchmark's own.
    let db_url = env::database_url_named("platform_bench")?;
    run(crate::cargo()
        .args(["run", "--quiet", "-p", "migrate", "--", "--create-database"])
        .env("DATABASE_URL", &db_url))?;
    seed(&db_url)?;
    let redis_port = free_port()?;
    let _redis = KillOnDrop(
        Command::new("redis-server")
            .args([
                "--port",
                &redis_port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .context("starting redis-server")?,
    );
    wait_listening(redis_port, "redis-server", START_TIMEOUT)?;
    let redis_url = format!("redis://127.0.0.1:{redis_port}");

    let use_spin = match opts.runtime.as_deref() {
        Some("spin") => true,
        Some("host") | None => false,
        Some(other) => bail!("unknown runtime {other:?}"),
    };
    let mut vars = env::spin_variables_for(&db_url, &redis_url)?;
    vars.insert(
        "SPIN_VARIABLE_RATE_LIMIT_CAPACITY".into(),
        "1000000000".into(),
    );
    let start_app = |manifest: &str, name: &'static str| -> anyhow::Result<(KillOnDrop, Target)> {
        let port = free_port()?;
        let listen = format!("127.0.0.1:{port}");
        let (child, stats) = if use_spin {
            let spin = env::spin_binary().context("--runtime spin needs `spin` on PATH")?;
            env::check_spin_version(&spin)?;
            let child = Command::new(spin)
                .args(["up", "-f", manifest, "--listen", &listen])
                .envs(&vars)
                .stdout(Stdio::null())
                .spawn()?;
            (child, None)
        } else {
            let stats = out.join(format!("stats-{name}.json"));
            let child = Command::new(bin.join("platform-host"))
                .args([
                    "--from",
                    manifest,
                    "--listen",
                    &listen,
                    "--skip-transaction-check",
                    "--stats-file",
                ])
                .arg(&stats)
                .envs(&vars)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?;
            (child, Some(stats))
        };
        wait_listening(port, name, START_TIMEOUT)?;
        Ok((
            KillOnDrop(child),
            Target {
                name,
                base: format!("http://{listen}"),
                stats,
            },
        ))
    };
    let (_gw_proc, gateway) = start_app("spin.toml", "gateway")?;
    let (_floor_proc, floor) = start_app("tests/fixtures/hello/spin.toml", "floor")?;
    let base_port = free_port()?;
    let _base_proc = KillOnDrop(
        Command::new(bin.join("baseline"))
            .args([
                "--database-url",
                &db_url,
                "--redis-url",
                &redis_url,
                "--listen",
            ])
            .arg(format!("127.0.0.1:{base_port}"))
            .stdout(Stdio::null())
            .spawn()?,
    );
    wait_listening(base_port, "baseline", START_TIMEOUT)?;
    let baseline = Target {
        name: "baseline",
        base: format!("http://127.0.0.1:{base_port}"),
        stats: None,
    };

    // `scripts`: one for the warm-up, one for the measured run.
    let measure = |target: &Target,
                   path: &str,
                   scripts: Option<(&Path, &Path)>|
     -> anyhow::Result<Value> {
        let url = format!("{}{}", target.base, path);
        wrk::run(&url, 2, opts.connections, scripts.map(|s| s.0))?; // warm-up
        let before = target.counters();
        let load = wrk::run(&url, opts.seconds, opts.connections, scripts.map(|s| s.1))?;
        eprintln!(
            "{:<10} {url}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
            target.name, load.rps, load.p50_ms, load.p99_ms
        );
        let after = target.counters();
        let per_request = match (before, after) {
            (Some(b), Some(a)) => {
                let mut counts = serde_json::Map::new();
                for (k, v) in a.as_object().into_iter().flatten() {
                    let delta = v.as_f64().unwrap_or(0.0) - b[k].as_f64().unwrap_or(0.0);
                    counts.insert(k.clone(), json!(delta / load.requests.max(1) as f64));
                }
                Value::Object(counts)
            }
            _ => Value::Null,
        };
        Ok(json!({"target": target.name, "path": path, "load": load, "per_request": per_request}))
    };

    let mut scenarios = Vec::new();
    let mut script_no = 0;
    let mut sequential = |start: u64| -> anyhow::Result<PathBuf> {
        script_no += 1;
        let path = out.join(format!("sequential-{script_no}.lua"));
        std::fs::write(&path, sequential_ids_lua(start))?;
        Ok(path)
    };
    scenarios.push(("floor", vec![measure(&floor, "/", None)?]));
    scenarios.push((
        "gateway /health (no backends)",
        vec![measure(&gateway, "/health", None)?],
    ));
    scenarios.push((
        "cached GET /product/{id}",
        vec![
            measure(&gateway, "/product/1", None)?,
            measure(&baseline, "/product/2", None)?,
        ],
    ));
    // Each run walks ids nobody asked for yet: the warm-ups and the measured
    // runs of both targets each start RANGE ids apart.
    let (gw_warm, gw_run) = (sequential(0)?, sequential(RANGE)?);
    let (base_warm, base_run) = (sequential(2 * RANGE)?, sequential(3 * RANGE)?);
    scenarios.push((
        "uncached GET /product/{id}",
        vec![
            measure(&gateway, "", Some((&gw_warm, &gw_run)))?,
            measure(&baseline, "", Some((&base_warm, &base_run)))?,
        ],
    ));
    scenarios.push((
        "GET /product?page=",
        vec![
            measure(&gateway, "/product?page=3", None)?,
            measure(&baseline, "/product?page=3", None)?,
        ],
    ));

    let sizes = crate::COMPONENTS
        .iter()
        .map(|c| {
            let file = root.join(format!(
                "target/wasm32-wasip2/release/{}.wasm",
                c.replace('-', "_")
            ));
            (
                c.to_string(),
                json!(std::fs::metadata(file).map(|m| m.len()).unwrap_or(0)),
            )
        })
        .collect::<serde_json::Map<_, _>>();
    let instantiation = if use_spin {
        Value::Null
    } else {
        let out = Command::new(bin.join("platform-host"))
            .args(["--from", "spin.toml", "--measure-instantiation", "500"])
            .envs(&vars)
            .env("RUST_LOG", "warn")
            .output()?;
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    };

    let floor_rps = scenarios[0].1[0]["load"]["rps"].as_f64().unwrap_or(0.0);
    print_table(&scenarios, floor_rps);
    println!(
        "\ncomponent sizes (bytes): {}",
        Value::Object(sizes.clone())
    );
    println!("instantiation of the composed gateway: {instantiation}");

    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let results = json!({
        "unix_time": stamp,
        "runtime": if use_spin { "spin" } else { "project-host" },
        "seconds": opts.seconds,
        "connections": opts.connections,
        "floor_rps": floor_rps,
        "scenarios": scenarios.iter().map(|(name, runs)| json!({"scenario": name, "runs": runs})).collect::<Vec<_>>(),
        "wasm_sizes": sizes,
        "instantiation": instantiation,
    });
    let file = out.join(format!("run-{stamp}.json"));
    std::fs::write(&file, serde_json::to_vec_pretty(&results)?)?;
    println!("results: {}", file.display());
    Ok(())
}

fn seed(db_url: &str) -> anyhow::Result<()> {
    let sql = format!(
        "TRUNCATE products RESTART IDENTITY CASCADE; \
         INSERT INTO products (name, description, price, stock) \
         SELECT 'Product ' || g, 'Seeded for benchmarks', 1000 + g, 100 \
         FROM generate_series(1, {PRODUCTS}) g;"
    );
    run(Command::new("psql").args(["-q", "-v", "ON_ERROR_STOP=1", db_url, "-c", &sql]))
}

/// A wrk script whose two threads interleave over ids start+1, start+2, …
fn sequential_ids_lua(start: u64) -> String {
    format!(
        "local next_id = {start}\n\
         function setup(thread) thread:set(\"id\", next_id); next_id = next_id + 1 end\n\
         function request() id = id + 2; return wrk.format(\"GET\", \"/product/\" .. id) end\n"
    )
}

fn print_table(scenarios: &[(&str, Vec<Value>)], floor_rps: f64) {
    println!(
        "\n{:<32} {:<9} {:>9} {:>8} {:>8} {:>7} {:>8} {:>6} {:>6} {:>6} {:>5} {:>5}",
        "scenario",
        "target",
        "req/s",
        "p50 ms",
        "p99 ms",
        "/floor",
        "/native",
        "pg",
        "r.conn",
        "r.cmd",
        "http",
        "inst"
    );
    for (name, runs) in scenarios {
        let native = runs
            .iter()
            .find(|r| r["target"] == "baseline")
            .and_then(|r| r["load"]["rps"].as_f64());
        for r in runs {
            let rps = r["load"]["rps"].as_f64().unwrap_or(0.0);
            let ratio = |d: Option<f64>| {
                d.filter(|d| *d > 0.0)
                    .map_or("-".to_string(), |d| format!("{:.2}", rps / d))
            };
            let count = |k: &str| {
                r["per_request"][k]
                    .as_f64()
                    .map_or("-".to_string(), |v| format!("{v:.2}"))
            };
            println!(
                "{:<32} {:<9} {:>9.0} {:>8.2} {:>8.2} {:>7} {:>8} {:>6} {:>6} {:>6} {:>5} {:>5}",
                name,
                r["target"].as_str().unwrap_or(""),
                rps,
                r["load"]["p50_ms"].as_f64().unwrap_or(0.0),
                r["load"]["p99_ms"].as_f64().unwrap_or(0.0),
                ratio(Some(floor_rps)),
                if r["target"] == "baseline" {
                    "1.00".to_string()
                } else {
                    ratio(native)
                },
                count("pg_statements"),
                count("redis_connections"),
                count("redis_commands"),
                count("outbound_http"),
                count("instances"),
            );
        }
    }
}
