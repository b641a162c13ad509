//! The local PostgreSQL server's CPU time, read from `/proc`: what a run
//! cost the database, per request, beside pgbench running the same SQL.
//! Every process named `postgres` counts (backends, the postmaster, its
//! background workers); a backend that exits before the second sample is
//! still counted, in the postmaster's reaped-children times.

use std::collections::HashSet;
use std::process::Command;
use std::sync::OnceLock;

/// What this needs of one line of `/proc/<pid>/stat`, in clock ticks.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stat {
    pid: u32,
    comm: String,
    ppid: u32,
    /// utime + stime: the process's own CPU.
    own: u64,
    /// cutime + cstime: the CPU of the children it reaped.
    reaped: u64,
}

/// CPU seconds the local PostgreSQL server has used so far; `None` when
/// `/proc` cannot be read or no `postgres` process runs.
pub fn used_secs() -> Option<f64> {
    let stats: Vec<Stat> = std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(is_pid))
        // A process may have exited since the listing.
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|line| parse(&line))
        .collect();
    Some(postgres_ticks(&stats)? as f64 / ticks_per_sec())
}

/// `/proc/<pid>`: a process (the rest of `/proc` is not).
fn is_pid(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit())
}

/// Postgres CPU milliseconds per request between two samples of
/// [`used_secs`]; `None` without both samples or without requests.
pub fn per_request_ms(before: Option<f64>, after: Option<f64>, requests: u64) -> Option<f64> {
    let spent_secs = after? - before?;
    (requests > 0).then_some(spent_secs * 1000.0 / requests as f64)
}

/// `getconf CLK_TCK`, asked once (100 on every common Linux, the fallback).
fn ticks_per_sec() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        let out = Command::new("getconf").arg("CLK_TCK").output().ok();
        let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        let ticks = text.and_then(|t| t.trim().parse::<f64>().ok());
        ticks.filter(|t| *t > 0.0).unwrap_or(100.0)
    })
}

/// One line of `/proc/<pid>/stat`. `comm` may hold spaces and `)`, so the
/// fields after it are read from the last `)`.
fn parse(line: &str) -> Option<Stat> {
    let open = line.find('(')?;
    let close = line.rfind(')')?;
    let pid = line[..open].trim().parse().ok()?;
    let comm = line.get(open + 1..close)?.to_string();
    // After `)`: field 3 (state) is at 0, so field n is at n - 3.
    let rest: Vec<&str> = line[close + 1..].split_whitespace().collect();
    let field = |n: usize| rest.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        pid,
        comm,
        ppid: u32::try_from(field(4)?).ok()?,
        own: field(14)? + field(15)?,
        reaped: field(16)? + field(17)?,
    })
}

/// Ticks of every `postgres` process, plus the postmaster's reaped
/// children (a `postgres` process whose parent is not one): its backends
/// that already exited. `None` when no `postgres` process is listed.
fn postgres_ticks(stats: &[Stat]) -> Option<u64> {
    let postgres: Vec<&Stat> = stats.iter().filter(|s| s.comm == "postgres").collect();
    if postgres.is_empty() {
        return None;
    }
    let pids: HashSet<u32> = postgres.iter().map(|s| s.pid).collect();
    let ticks = postgres.iter().map(|s| {
        let postmaster = !pids.contains(&s.ppid);
        s.own + if postmaster { s.reaped } else { 0 }
    });
    Some(ticks.sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stat line shaped as Linux writes it, with these fields (4, 14–17).
    fn line(pid: u32, comm: &str, ppid: u32, times: [u64; 4]) -> String {
        let [utime, stime, cutime, cstime] = times;
        format!(
            "{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 120 0 0 0 \
             {utime} {stime} {cutime} {cstime} 20 0 1 0 4711 224329728 1234 \
             18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0"
        )
    }

    #[test]
    fn reads_a_stat_line_from_its_last_parenthesis() {
        let stat = parse(&line(42, "a) (b", 7, [10, 5, 3, 2])).unwrap();
        assert_eq!(
            stat,
            Stat {
                pid: 42,
                comm: "a) (b".into(),
                ppid: 7,
                own: 15,
                reaped: 5,
            }
        );
        assert_eq!(parse("42 (postgres) S 1 2 3"), None);
        assert_eq!(parse(""), None);
        assert!(is_pid("42") && !is_pid("self") && !is_pid(""));
    }

    #[test]
    fn sums_postgres_and_the_postmasters_reaped_backends() {
        let stats: Vec<Stat> = [
            // The postmaster (its parent is init): backends it reaped.
            line(100, "postgres", 1, [50, 20, 300, 100]),
            // Two live backends, their own times only (their children's
            // reach the postmaster's when it reaps them).
            line(101, "postgres", 100, [7, 3, 1000, 1000]),
            line(102, "postgres", 100, [4, 1, 0, 0]),
            // Not Postgres.
            line(103, "pgbench", 1, [900, 900, 0, 0]),
            line(104, "postgres-exporter", 1, [800, 800, 0, 0]),
        ]
        .iter()
        .map(|l| parse(l).unwrap())
        .collect();
        assert_eq!(postgres_ticks(&stats), Some(70 + 400 + 10 + 5));
        assert_eq!(postgres_ticks(&stats[3..]), None);
    }

    #[test]
    fn per_request_needs_both_samples_and_requests() {
        let ms = per_request_ms(Some(10.0), Some(12.5), 1000).unwrap();
        assert!((ms - 2.5).abs() < 1e-9);
        assert_eq!(per_request_ms(None, Some(1.0), 10), None);
        assert_eq!(per_request_ms(Some(1.0), None, 10), None);
        assert_eq!(per_request_ms(Some(1.0), Some(2.0), 0), None);
    }
}
