//! `create_order` through pgbench: the order route's native comparison,
//! the same SQL call at the same concurrency straight against Postgres.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};

use super::pg_cpu;
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
    let pg_before = pg_cpu::used_secs();
    let output = Command::new("pgbench")
        .args(["-n", "-j", "2", "-c", &connections.to_string()])
        .args(["-T", &seconds.to_string(), "-f"])
        .arg(&script)
        .arg(db_url)
        .output()
        .context("running pgbench (Debian: postgresql-client)")?;
    // Its backends are counted live, or once exited in the postmaster's
    // reaped times.
    let pg_after = pg_cpu::used_secs();
    if !output.status.success() {
        bail!(
            "pgbench failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let (load, transactions) = parse(&String::from_utf8_lossy(&output.stdout))?;
    if let Load::Pgbench { rps, avg_ms } = load {
        eprintln!("pgbench    create_order: {rps:.0} tps, average {avg_ms:?} ms");
    }
    Ok(RunResult {
        target: Target::Pgbench,
        path: Request::Pgbench.path(),
        load,
        per_request: None,
        pg_cpu_ms: pg_cpu::per_request_ms(pg_before, pg_after, transactions.unwrap_or(0)),
    })
}

/// tps and the average latency from pgbench's report, and the number of
/// transactions it made (what its Postgres CPU is divided by).
fn parse(report: &str) -> anyhow::Result<(Load, Option<u64>)> {
    let word_after = |label: &str| {
        report
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().next())
    };
    let number_after = |label: &str| word_after(label).and_then(|n| n.parse::<f64>().ok());
    let load = Load::Pgbench {
        rps: number_after("tps = ").context("no tps in pgbench's output")?,
        avg_ms: number_after("latency average = "),
    };
    // `N`, or `N/total` when pgbench was given a number of transactions.
    let transactions = word_after("number of transactions actually processed: ")
        .and_then(|n| n.split('/').next()?.parse::<u64>().ok());
    Ok((load, transactions))
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
        let (Load::Pgbench { rps, avg_ms }, transactions) = parse(report).unwrap() else {
            panic!("not a pgbench load")
        };
        assert!((rps - 2416.012345).abs() < 1e-9);
        assert_eq!(avg_ms, Some(13.245));
        assert_eq!(transactions, Some(24160));
        assert!(parse("latency average = 1 ms\n").is_err());
        let counted = "number of transactions actually processed: 500/500\ntps = 9\n";
        assert_eq!(parse(counted).unwrap().1, Some(500));
        assert_eq!(parse("tps = 9\n").unwrap().1, None);
    }
}
