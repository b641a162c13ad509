//! `cargo xtask bench`: every scenario through the app, side by side with
//! the floor (a trivial component on the same runtime), a same-shaped probe
//! (a component making exactly the route's host calls) and a native baseline
//! (axum with pooled Postgres/Redis doing the same work), plus the host's
//! exact per-request counts. Ratios and counts are what to compare.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use test_support::{free_port, wait_listening, KillOnDrop, RedisServer};

use crate::{env, run, wrk};

#[derive(Clone)]
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

/// The host's per-request counters the table shows, with their headings.
const COUNTERS: &[(&str, &str)] = &[
    ("pg_statements", "pg"),
    ("redis_connections", "r.conn"),
    ("redis_commands", "r.cmd"),
    ("outbound_http", "http"),
    ("instances", "inst"),
    ("variables_app", "v.app"),
    ("variables_literal", "v.lit"),
    ("stdio_writes", "log.w"),
    ("stdio_bytes", "log.B"),
];

pub fn bench(opts: Options) -> anyhow::Result<()> {
    wrk::ensure_installed()?;
    build()?;
    let root = env::workspace_root()?;
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out)?;
    let backends = Backends::start()?;
    let runtime = Runtime::parse(opts.runtime.as_deref())?;
    let targets = Targets::start(&root, &out, &runtime, &backends)?;
    let scenarios = run_scenarios(targets, &opts, &out, &backends.db_url)?;
    let sizes = wasm_sizes(&root);
    let instantiation = match runtime {
        Runtime::Spin => Value::Null,
        Runtime::Host => instantiation(&root, &backends.variables)?,
    };
    report(&out, &opts, &runtime, &scenarios, sizes, instantiation)
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

enum Runtime {
    Host,
    Spin,
}

impl Runtime {
    fn parse(name: Option<&str>) -> anyhow::Result<Runtime> {
        match name {
            Some("spin") => Ok(Runtime::Spin),
            Some("host") | None => Ok(Runtime::Host),
            Some(other) => bail!("unknown runtime {other:?}"),
        }
    }
}

/// A seeded database and a Redis of the benchmark's own, and the Spin
/// variables that point the apps at them.
struct Backends {
    db_url: String,
    _redis: RedisServer,
    redis_url: String,
    variables: std::collections::HashMap<String, String>,
}

impl Backends {
    fn start() -> anyhow::Result<Backends> {
        let db_url = env::database_url_named("platform_bench")?;
        run(crate::cargo()
            .args(["run", "--quiet", "-p", "migrate", "--", "--create-database"])
            .env("DATABASE_URL", &db_url))?;
        seed(&db_url)?;
        let redis = RedisServer::start().context("starting redis-server")?;
        let redis_url = redis.url();
        let mut variables = env::spin_variables_for(&db_url, &redis_url)?;
        // The limiters run (their cost is part of the routes) but never refuse.
        variables.insert(
            "SPIN_VARIABLE_RATE_LIMIT_CAPACITY".into(),
            "1000000000".into(),
        );
        variables.insert(
            "SPIN_VARIABLE_LIST_RATE_LIMIT".into(),
            "1000000000/1000000000".into(),
        );
        for limit in ["LOGIN_RATE_LIMIT", "LOGIN_EMAIL_RATE_LIMIT"] {
            variables.insert(
                format!("SPIN_VARIABLE_{limit}"),
                "1000000000/1000000000".into(),
            );
        }
        Ok(Backends {
            db_url,
            _redis: redis,
            redis_url,
            variables,
        })
    }
}

/// A target under load: its address and, on the project host, its counters.
struct Target {
    name: &'static str,
    base: String,
    stats: Option<PathBuf>,
    _process: Process,
}

/// A server process; Spin's is a process group (`spin up` forks `spin
/// trigger http`), so the whole group is stopped.
struct Process {
    child: KillOnDrop,
    /// The child leads its own process group.
    group: bool,
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.group {
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{}", self.child.id())])
                .status();
        }
    }
}

impl Target {
    fn counters(&self) -> Option<Value> {
        let path = self.stats.as_ref()?;
        std::thread::sleep(Duration::from_millis(450));
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }
}

struct Targets {
    app: Target,
    floor: Target,
    probe: Target,
    baseline: Target,
}

impl Targets {
    fn start(
        root: &Path,
        out: &Path,
        runtime: &Runtime,
        backends: &Backends,
    ) -> anyhow::Result<Targets> {
        let bin = root.join("target/bench-native");
        // The HTTP process only, as deployed: the saga's workers are another
        // process (in this one they would take CPU from the measured routes).
        let http = crate::up::Triggers::read(&root.join("spin.toml"))?.http;
        let app = start_app(&bin, out, runtime, backends, ("spin.toml", &http), "app")?;
        let floor = start_app(
            &bin,
            out,
            runtime,
            backends,
            ("tests/fixtures/hello/spin.toml", &[]),
            "floor",
        )?;
        let probe = start_app(
            &bin,
            out,
            runtime,
            backends,
            ("tests/fixtures/shape/spin.toml", &[]),
            "probe",
        )?;
        let port = free_port()?;
        let child = Command::new(bin.join("baseline"))
            .args([
                "--database-url",
                &backends.db_url,
                "--redis-url",
                &backends.redis_url,
                "--listen",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .spawn()?;
        let process = Process {
            child: KillOnDrop(child),
            group: false,
        };
        wait_listening(port, "baseline", START_TIMEOUT)?;
        let baseline = Target {
            name: "baseline",
            base: format!("http://127.0.0.1:{port}"),
            stats: None,
            _process: process,
        };
        Ok(Targets {
            app,
            floor,
            probe,
            baseline,
        })
    }
}

fn start_app(
    bin: &Path,
    out: &Path,
    runtime: &Runtime,
    backends: &Backends,
    (manifest, components): (&str, &[String]),
    name: &'static str,
) -> anyhow::Result<Target> {
    // `-c <id>` per selected component (none: all of them).
    let selected: Vec<&str> = components.iter().flat_map(|c| ["-c", c.as_str()]).collect();
    let port = free_port()?;
    let listen = format!("127.0.0.1:{port}");
    // Each run's component logs start empty (they are read after a run).
    let _ = std::fs::remove_dir_all(out.join(format!("logs-{name}")));
    let (process, stats) = match runtime {
        Runtime::Spin => {
            use std::os::unix::process::CommandExt;
            let spin = env::spin_binary().context("--runtime spin needs `spin` on PATH")?;
            env::check_spin_version(&spin)?;
            let child = Command::new(spin)
                .args(["up", "-f", manifest, "--listen", &listen, "--quiet"])
                .args(&selected)
                .envs(&backends.variables)
                .stdout(Stdio::null())
                .process_group(0)
                .spawn()?;
            (
                Process {
                    child: KillOnDrop(child),
                    group: true,
                },
                None,
            )
        }
        Runtime::Host => {
            let stats = out.join(format!("stats-{name}.json"));
            let child = Command::new(bin.join("platform-host"))
                .args(&selected)
                .args([
                    "--from",
                    manifest,
                    "--listen",
                    &listen,
                    "--skip-transaction-check",
                    // Component output goes to files as under `spin up
                    // --quiet` (each write still a counted host call).
                    "--quiet",
                    "--stats-file",
                ])
                .arg(&stats)
                .arg("--log-dir")
                .arg(out.join(format!("logs-{name}")))
                .envs(&backends.variables)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?;
            (
                Process {
                    child: KillOnDrop(child),
                    group: false,
                },
                Some(stats),
            )
        }
    };
    wait_listening(port, name, START_TIMEOUT)?;
    Ok(Target {
        name,
        base: format!("http://{listen}"),
        stats,
        _process: process,
    })
}

/// One measured run of `path` (or of `scripts`: warm-up, measured) on `target`.
fn measure(
    target: &Target,
    opts: &Options,
    path: &str,
    scripts: Option<(&Path, &Path)>,
) -> anyhow::Result<Value> {
    let url = format!("{}{}", target.base, path);
    wrk::run(&url, 2, opts.connections, scripts.map(|s| s.0))?; // warm-up
    let before = target.counters();
    let load = wrk::run(&url, opts.seconds, opts.connections, scripts.map(|s| s.1))?;
    eprintln!(
        "{:<10} {url}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
        target.name, load.rps, load.p50_ms, load.p99_ms
    );
    // A scenario that answered errors measured the wrong thing; a few
    // (the machine's Postgres refusing connections beyond max_connections
    // while three targets hold pools) are reported, not hidden.
    if load.non_2xx * 100 > load.requests {
        anyhow::bail!(
            "{} {url}: {} of {} responses were not 2xx",
            target.name,
            load.non_2xx,
            load.requests
        );
    } else if load.non_2xx > 0 {
        eprintln!(
            "warning: {} {url}: {} of {} responses were not 2xx",
            target.name, load.non_2xx, load.requests
        );
    }
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
}

type Scenario = (&'static str, Vec<Value>);

fn run_scenarios(
    t: Targets,
    opts: &Options,
    out: &Path,
    db_url: &str,
) -> anyhow::Result<Vec<Scenario>> {
    let mut script_no = 0;
    let mut sequential = |prefix: &str, start: u64| -> anyhow::Result<PathBuf> {
        script_no += 1;
        let path = out.join(format!("sequential-{script_no}.lua"));
        std::fs::write(&path, sequential_ids_lua(prefix, start))?;
        Ok(path)
    };
    let Targets {
        app,
        floor,
        probe,
        baseline,
    } = t;
    let m = |target: &Target, path: &str| measure(target, opts, path, None);
    let mut scenarios = vec![
        ("floor", vec![m(&floor, "/")?]),
        (
            "GET /health (no backends)",
            vec![m(&app, "/health")?, m(&probe, "/health")?],
        ),
        (
            "cached GET /product/{id}",
            vec![
                m(&app, "/product/1")?,
                m(&probe, "/cached/1")?,
                m(&baseline, "/product/2")?,
            ],
        ),
    ];
    // Each run walks ids nobody asked for yet: every warm-up and measured
    // run starts RANGE ids apart (the probe reads the same rows uncached).
    let (app_warm, app_run) = (sequential("/product/", 0)?, sequential("/product/", RANGE)?);
    let (probe_warm, probe_run) = (
        sequential("/uncached/", 2 * RANGE)?,
        sequential("/uncached/", 3 * RANGE)?,
    );
    let (base_warm, base_run) = (sequential("/product/", 2 * RANGE)?, {
        sequential("/product/", 3 * RANGE)?
    });
    scenarios.push((
        "uncached GET /product/{id}",
        vec![
            measure(&app, opts, "", Some((&app_warm, &app_run)))?,
            measure(&probe, opts, "", Some((&probe_warm, &probe_run)))?,
            measure(&baseline, opts, "", Some((&base_warm, &base_run)))?,
        ],
    ));
    // The first fill of a list page counts 400 000 rows (seconds under
    // load): fill it once before the warm-up so that the measured run sees
    // the steady state, not a pile-up of first fills.
    for (target, path) in [
        (&app, "/product?page=3"),
        (&probe, "/list?page=3"),
        (&baseline, "/product?page=3"),
    ] {
        prime(&target.base, path)?;
    }
    scenarios.push((
        "GET /product?page=",
        vec![
            m(&app, "/product?page=3")?,
            m(&probe, "/list?page=3")?,
            m(&baseline, "/product?page=3")?,
        ],
    ));
    // Sign-in is argon2id at OWASP's parameters inside Wasm: one connection
    // gives the time of one login, full load its throughput on this machine.
    let login = out.join("login.lua");
    std::fs::write(&login, post_json_lua(BENCH_LOGIN))?;
    let one = Options {
        connections: 1,
        ..opts.clone()
    };
    scenarios.push((
        "POST /login (1 connection)",
        vec![measure(&app, &one, "/login", Some((&login, &login)))?],
    ));
    scenarios.push((
        "POST /login",
        vec![measure(&app, opts, "/login", Some((&login, &login)))?],
    ));
    let me = me_lua(out)?;
    scenarios.push((
        "GET /me",
        vec![measure(&app, opts, "/me", Some((&me, &me)))?],
    ));
    // An order is one create_order call: beside it, pgbench runs the same
    // call at the same concurrency straight against Postgres (the goal is
    // at least 0.7 of it). Each request orders one unit of the next product.
    // The probe makes the same host calls (its own stretch of products).
    // The other targets' pools would leave pgbench no connections (100 in
    // all): each stops once it is done.
    drop((floor, baseline));
    let (order_warm, order_run) = (order_lua(out, 1)?, order_lua(out, RANGE)?);
    let app_order = measure(&app, opts, "/order", Some((&order_warm, &order_run)))?;
    let (shape_warm, shape_run) = (order_lua(out, 2 * RANGE)?, order_lua(out, 3 * RANGE)?);
    let probe_order = measure(&probe, opts, "/order", Some((&shape_warm, &shape_run)))?;
    drop(probe);
    scenarios.push((
        "POST /order",
        vec![
            app_order,
            probe_order,
            pgbench_create_order(db_url, opts, out)?,
        ],
    ));
    scenarios.push((
        "cached GET /order/{id}",
        vec![measure(&app, opts, "/order/1", Some((&me, &me)))?],
    ));
    Ok(scenarios)
}

/// `POST /order` as the seeded user, one unit of product `start`+1, +2, …
fn order_lua(out: &Path, start: u64) -> anyhow::Result<PathBuf> {
    let token = bench_token()?;
    let path = out.join(format!("order-{start}.lua"));
    std::fs::write(
        &path,
        format!(
            "local next_id = {start}\n\
             function setup(thread) thread:set(\"id\", next_id); next_id = next_id + 1 end\n\
             function request()\n\
               id = id + 2\n\
               return wrk.format(\"POST\", \"/order\", {{[\"Content-Type\"] = \"application/json\", \
             [\"Authorization\"] = \"Bearer {token}\"}}, \
             '{{\"items\":[{{\"product_id\":' .. (id % {PRODUCTS} + 1) .. ',\"quantity\":1}}]}}')\n\
             end\n"
        ),
    )?;
    Ok(path)
}

/// The same `create_order` call through pgbench, `connections` clients.
fn pgbench_create_order(db_url: &str, opts: &Options, out: &Path) -> anyhow::Result<Value> {
    let script = out.join("create_order.pgbench.sql");
    std::fs::write(
        &script,
        format!(
            "\\set id random(1, {PRODUCTS})\n\
             SELECT outcome FROM create_order(1, ARRAY[:id]::bigint[], ARRAY[1]::int[], NULL, '-');\n"
        ),
    )?;
    let output = Command::new("pgbench")
        .args(["-n", "-j", "2", "-c", &opts.connections.to_string()])
        .args(["-T", &opts.seconds.to_string(), "-f"])
        .arg(&script)
        .arg(db_url)
        .output()
        .context("running pgbench (Debian: postgresql-client)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "pgbench failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let number_after = |label: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
    };
    let tps = number_after("tps = ").context("no tps in pgbench's output")?;
    let latency = number_after("latency average = ");
    eprintln!("pgbench    create_order: {tps:.0} tps, average {latency:?} ms");
    // pgbench reports an average latency, not percentiles.
    Ok(
        json!({"target": "pgbench", "path": "create_order()", "load": {"rps": tps, "avg_ms": latency}, "per_request": null}),
    )
}

/// One request, waited for however long it takes (no load generator).
fn prime(base: &str, path: &str) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    if !answer.starts_with("HTTP/1.1 200") {
        bail!("priming {path}: {}", answer.lines().next().unwrap_or(""));
    }
    Ok(())
}

/// The benchmark's account (seeded with an argon2id hash by `seed`).
const BENCH_EMAIL: &str = "bench@example.com";
const BENCH_PASSWORD: &str = "bench-password-1";
const BENCH_LOGIN: &str = r#"{"email":"bench@example.com","password":"bench-password-1"}"#;

fn post_json_lua(body: &str) -> String {
    format!(
        "wrk.method = \"POST\"\n\
         wrk.body = '{body}'\n\
         wrk.headers[\"Content-Type\"] = \"application/json\"\n"
    )
}

/// An access token of the seeded account (user 1), signed with the bench's secret.
fn bench_token() -> anyhow::Result<String> {
    auth_core::issue_access_token(
        env::jwt_secret()?.as_bytes(),
        1,
        auth_core::Role::Customer,
        3600,
    )
    .map_err(|e| anyhow::anyhow!(e.message()))
}

/// `GET /me` (and other reads) as the seeded account.
fn me_lua(out: &Path) -> anyhow::Result<PathBuf> {
    let token = bench_token()?;
    let path = out.join("me.lua");
    std::fs::write(
        &path,
        format!("wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n"),
    )?;
    Ok(path)
}

fn wasm_sizes(root: &Path) -> serde_json::Map<String, Value> {
    crate::COMPONENTS
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
        .collect()
}

/// p50/p99 instantiation of each HTTP component of the app (project host).
fn instantiation(
    root: &Path,
    variables: &std::collections::HashMap<String, String>,
) -> anyhow::Result<Value> {
    let out = Command::new(root.join("target/bench-native/platform-host"))
        .args(["--from", "spin.toml", "--measure-instantiation", "500"])
        .envs(variables)
        .env("RUST_LOG", "warn")
        .output()?;
    Ok(Value::Array(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
    ))
}

fn report(
    out: &Path,
    opts: &Options,
    runtime: &Runtime,
    scenarios: &[Scenario],
    sizes: serde_json::Map<String, Value>,
    instantiation: Value,
) -> anyhow::Result<()> {
    let floor_rps = scenarios[0].1[0]["load"]["rps"].as_f64().unwrap_or(0.0);
    print_table(scenarios, floor_rps);
    println!(
        "\ncomponent sizes (bytes): {}",
        Value::Object(sizes.clone())
    );
    println!("instantiation per HTTP component: {instantiation}");
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let results = json!({
        "unix_time": stamp,
        "runtime": match runtime { Runtime::Spin => "spin", Runtime::Host => "project-host" },
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
    let hash = auth_core::password::hash(BENCH_PASSWORD, b"bench-salt-16byt")
        .map_err(|e| anyhow::anyhow!("hashing the bench password: {e:?}"))?;
    let sql = format!(
        "TRUNCATE products RESTART IDENTITY CASCADE; \
         INSERT INTO products (name, description, price, stock) \
         SELECT 'Product ' || g, 'Seeded for benchmarks', 1000 + g, 100 \
         FROM generate_series(1, {PRODUCTS}) g; \
         TRUNCATE users RESTART IDENTITY CASCADE; \
         INSERT INTO users (full_name, email, password_hash) \
         VALUES ('Bench', '{BENCH_EMAIL}', '{hash}');"
    );
    run(Command::new("psql").args(["-q", "-v", "ON_ERROR_STOP=1", db_url, "-c", &sql]))
}

/// A wrk script whose two threads interleave over `prefix`start+1, +2, …
fn sequential_ids_lua(prefix: &str, start: u64) -> String {
    format!(
        "local next_id = {start}\n\
         function setup(thread) thread:set(\"id\", next_id); next_id = next_id + 1 end\n\
         function request() id = id + 2; return wrk.format(\"GET\", \"{prefix}\" .. id) end\n"
    )
}

fn print_table(scenarios: &[Scenario], floor_rps: f64) {
    let mut heading = format!(
        "\n{:<28} {:<9} {:>9} {:>8} {:>8} {:>7} {:>7} {:>7}",
        "scenario", "target", "req/s", "p50 ms", "p99 ms", "/floor", "/probe", "/native"
    );
    for (_, h) in COUNTERS {
        heading.push_str(&format!(" {h:>6}"));
    }
    println!("{heading}");
    for (name, runs) in scenarios {
        let rps_of = |target: &str| {
            runs.iter()
                .find(|r| r["target"] == target)
                .and_then(|r| r["load"]["rps"].as_f64())
        };
        // The native comparison: the axum baseline, or for POST /order
        // pgbench running the same SQL call.
        let (probe, native) = (
            rps_of("probe"),
            rps_of("baseline").or_else(|| rps_of("pgbench")),
        );
        for r in runs {
            let rps = r["load"]["rps"].as_f64().unwrap_or(0.0);
            let ratio = |d: Option<f64>| {
                d.filter(|d| *d > 0.0)
                    .map_or("-".to_string(), |d| format!("{:.2}", rps / d))
            };
            let mut line = format!(
                "{:<28} {:<9} {:>9.0} {:>8.2} {:>8.2} {:>7} {:>7} {:>7}",
                name,
                r["target"].as_str().unwrap_or(""),
                rps,
                r["load"]["p50_ms"].as_f64().unwrap_or(0.0),
                r["load"]["p99_ms"].as_f64().unwrap_or(0.0),
                ratio(Some(floor_rps)),
                ratio(probe),
                ratio(native),
            );
            for (key, _) in COUNTERS {
                let v = r["per_request"][key]
                    .as_f64()
                    .map_or("-".to_string(), |v| format!("{v:.2}"));
                line.push_str(&format!(" {v:>6}"));
            }
            println!("{line}");
        }
    }
}
