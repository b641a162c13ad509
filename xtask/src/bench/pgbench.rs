//! `create_order` through pgbench: the order route's native comparison,
//! the same SQL call at the same concurrency straight against Postgres.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};

use super::results::{Load, RunResult};
use super::scenarios::{Request, Target};
use super::PRODUCTS;

pub fn create_order(
    db_url: &str,
    seconds: u32,
    connections: u32,
    out: &Path,
) -> anyhow::Result<RunResult> {
    let script = out.join("create_order.pgbench.sql");
    std::fs::write(
        &script,
        format!(
            "\\set id random(1, {PRODUCTS})\n\
             SELECT outcome FROM create_order(1, ARRAY[:id]::bigint[], ARRAY[1]::int[], NULL, '-');\n"
        ),
    )?;
    let output = Command::new("pgbench")
        .args(["-n", "-j", "2", "-c", &connections.to_string()])
        .args(["-T", &seconds.to_string(), "-f"])
        .arg(&script)
        .arg(db_url)
        .output()
        .context("running pgbench (Debian: postgresql-client)")?;
    if !output.status.success() {
        bail!(
            "pgbench failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let load = parse(&String::from_utf8_lossy(&output.stdout))?;
    if let Load::Pgbench { rps, avg_ms } = load {
        eprintln!("pgbench    create_order: {rps:.0} tps, average {avg_ms:?} ms");
    }
    Ok(RunResult {
        target: Target::Pgbench,
        path: Request::Pgbench.path(),
        load,
        per_request: None,
    })
}

/// tps and the average latency from pgbench's report.
fn parse(report: &str) -> anyhow::Result<Load> {
    let number_after = |label: &str| {
        report
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
    };
    Ok(Load::Pgbench {
        rps: number_after("tps = ").context("no tps in pgbench's output")?,
        avg_ms: number_after("latency average = "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tps_and_average_latency() {
        let report = "transaction type: create_order.pgbench.sql
number of clients: 32
number of transactions actually processed: 24160
latency average = 13.245 ms
initial connection time = 20.123 ms
tps = 2416.012345 (without initial connection time)
";
        let Load::Pgbench { rps, avg_ms } = parse(report).unwrap() else {
            panic!("not a pgbench load")
        };
        assert!((rps - 2416.012345).abs() < 1e-9);
        assert_eq!(avg_ms, Some(13.245));
        assert!(parse("latency average = 1 ms\n").is_err());
    }
}
