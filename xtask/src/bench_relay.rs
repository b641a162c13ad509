//! `cargo xtask bench --suite relay`: the relay's throughput and latency
//! beside the raw produce rate of the same client (bench/relay-bench), on a
//! database of its own and a fresh tansu broker.

use std::process::Command;

use anyhow::Context;
use test_support::KafkaBroker;

use crate::{env, run};

pub fn bench_relay(seconds: u32) -> anyhow::Result<()> {
    run(crate::cargo().args([
        "build",
        "--profile",
        "bench-native",
        "-p",
        "relay",
        "-p",
        "relay-bench",
    ]))?;
    let root = env::workspace_root()?;
    let bin = root.join("target/bench-native");
    let db_url = env::database_url_named("relay_bench")?;
    run(crate::cargo()
        .args(["run", "--quiet", "-p", "migrate", "--", "--create-database"])
        .env("DATABASE_URL", &db_url))?;
    let broker = KafkaBroker::start().context(
        "the relay benchmark needs tansu: cargo install tansu --locked --features dynostore",
    )?;
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out)?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let json = out.join(format!("relay-{stamp}.json"));
    run(Command::new(bin.join("relay-bench"))
        .args(["--database-url", &db_url, "--brokers", &broker.bootstrap()])
        .arg("--relay-bin")
        .arg(bin.join("relay"))
        .args(["--seconds", &seconds.to_string(), "--json"])
        .arg(&json))?;
    println!("results: {}", json.display());
    Ok(())
}
