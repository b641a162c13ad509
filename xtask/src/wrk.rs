//! Runs `wrk` (Debian's package: a well-kept load generator) and reads its report.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};

#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Load {
    pub requests: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub non_2xx: u64,
}

/// Installs wrk from Debian's packages when it is missing.
pub fn ensure_installed() -> anyhow::Result<()> {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    crate::run(Command::new("apt-get").args(["install", "-y", "-q", "wrk"]))
        .context("installing wrk (apt-get install wrk)")
}

pub fn run(
    url: &str,
    seconds: u32,
    connections: u32,
    script: Option<&Path>,
) -> anyhow::Result<Load> {
    let mut cmd = Command::new("wrk");
    // wrk needs at least one connection per thread.
    cmd.args([
        &format!("-t{}", connections.clamp(1, 2)),
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--latency",
    ]);
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    cmd.arg(url);
    let out = cmd.output().context("running wrk")?;
    if !out.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    parse(&String::from_utf8_lossy(&out.stdout))
}

fn millis(text: &str) -> Option<f64> {
    let (num, unit) = text
        .trim()
        .split_at(text.trim().find(|c: char| c.is_alphabetic())?);
    let n: f64 = num.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => return None,
    })
}

pub fn parse(report: &str) -> anyhow::Result<Load> {
    let mut load = Load::default();
    let mut counted = false;
    for line in report.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => load.p50_ms = millis(v).unwrap_or_default(),
            ["99%", v] => load.p99_ms = millis(v).unwrap_or_default(),
            ["Requests/sec:", v] => load.rps = v.parse().unwrap_or_default(),
            [n, "requests", "in", ..] => {
                load.requests = n.parse().unwrap_or_default();
                counted = true;
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => {
                load.non_2xx = n.parse().unwrap_or_default()
            }
            _ => {}
        }
    }
    // Zero requests is a result (a warm-up can finish none), not an error.
    if !counted {
        bail!("could not read the wrk report:\n{report}");
    }
    Ok(load)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_wrk_report() {
        let report = "Running 2s test @ http://127.0.0.1:3000/health
  2 threads and 8 connections
  Latency Distribution
     50%  412.00us
     75%  600.00us
     90%    1.02ms
     99%    3.10ms
  16894 requests in 2.00s, 2.58MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   8441.94
Transfer/sec:      1.29MB";
        let l = parse(report).unwrap();
        assert_eq!(l.requests, 16894);
        assert!((l.rps - 8441.94).abs() < 1e-9);
        assert!((l.p50_ms - 0.412).abs() < 1e-9);
        assert!((l.p99_ms - 3.1).abs() < 1e-9);
        assert_eq!(l.non_2xx, 3);
    }
}
