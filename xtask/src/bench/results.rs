//! What a bench run found: the table it prints, and the JSON it keeps in
//! `target/bench/run-<unix time>.json` for people to compare (nothing reads
//! it back; the README documents its shape).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::scenarios::Target;
use super::Options;
use crate::runtime::Runtime;
use crate::wrk;

/// The host's counters by name (`pg_statements`, …), as its stats file has them.
pub type Counts = BTreeMap<String, f64>;

#[derive(Debug, Serialize)]
pub struct Results {
    pub unix_time: u64,
    /// `spin` or `project-host`.
    pub runtime: &'static str,
    pub seconds: u32,
    pub connections: u32,
    pub floor_rps: f64,
    pub scenarios: Vec<ScenarioResult>,
    /// Bytes of each component's `.wasm`.
    pub wasm_sizes: BTreeMap<String, u64>,
    /// Project host only.
    pub instantiation: Option<Vec<Instantiation>>,
}

#[derive(Debug, Serialize)]
pub struct ScenarioResult {
    pub scenario: &'static str,
    pub runs: Vec<RunResult>,
}

#[derive(Debug, Serialize)]
pub struct RunResult {
    pub target: Target,
    pub path: &'static str,
    pub load: Load,
    /// Project host only: each counter's increase over the measured run,
    /// per request.
    pub per_request: Option<Counts>,
    /// The local Postgres server's CPU over the measured run (`pg_cpu.rs`),
    /// in ms per request (pgbench: per transaction); `None` unmeasured.
    pub pg_cpu_ms: Option<f64>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(untagged)]
pub enum Load {
    Wrk(wrk::Load),
    /// pgbench reports an average latency, not percentiles.
    Pgbench {
        rps: f64,
        avg_ms: Option<f64>,
    },
}

/// One HTTP component's instantiation time, as the host prints it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Instantiation {
    pub component: String,
    pub n: u64,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// The host's counters the table shows, with their headings.
const COUNTERS: &[(&str, &str)] = &[
    ("pg_statements", "pg"),
    ("redis_connections", "r.conn"),
    ("redis_commands", "r.cmd"),
    ("key_value_calls", "kv"),
    ("outbound_http", "http"),
    ("instances", "inst"),
    ("variables_app", "v.app"),
    ("variables_literal", "v.lit"),
    ("stdio_writes", "log.w"),
    ("stdio_bytes", "log.B"),
];

/// The order route's goal: its Postgres CPU per order at most this many
/// times pgbench's per `create_order` transaction.
const ORDER_PG_CPU_GOAL: f64 = 1.25;

impl Load {
    pub fn rps(&self) -> f64 {
        match self {
            Load::Wrk(l) => l.rps,
            Load::Pgbench { rps, .. } => *rps,
        }
    }

    /// p50 and p99 in ms (pgbench: none, shown as 0).
    fn percentiles(&self) -> (f64, f64) {
        match self {
            Load::Wrk(l) => (l.p50_ms, l.p99_ms),
            Load::Pgbench { .. } => (0.0, 0.0),
        }
    }
}

/// Each counter's increase from `before` to `after`, per request.
pub fn per_request(before: &Counts, after: &Counts, requests: u64) -> Counts {
    let requests = requests.max(1) as f64;
    let increase = |k: &String, a: f64| a - before.get(k).copied().unwrap_or(0.0);
    after
        .iter()
        .map(|(k, a)| (k.clone(), increase(k, *a) / requests))
        .collect()
}

impl Results {
    pub fn new(
        opts: &Options,
        scenarios: Vec<ScenarioResult>,
        wasm_sizes: BTreeMap<String, u64>,
        instantiation: Option<Vec<Instantiation>>,
    ) -> anyhow::Result<Results> {
        let unix_time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        Ok(Results {
            unix_time,
            runtime: match opts.runtime {
                Runtime::Spin => "spin",
                Runtime::Host => "project-host",
            },
            seconds: opts.seconds,
            connections: opts.connections,
            floor_rps: floor_rps(&scenarios),
            scenarios,
            wasm_sizes,
            instantiation,
        })
    }

    /// The table's heading, then a line per run.
    pub fn table(&self) -> Vec<String> {
        let mut heading = format!(
            "{:<28} {:<9} {:>9} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7}",
            "scenario",
            "target",
            "req/s",
            "p50 ms",
            "p99 ms",
            "/floor",
            "/probe",
            "/comp",
            "/native"
        );
        heading.push_str(&format!(" {:>7}", "pg.ms"));
        for (_, h) in COUNTERS {
            heading.push_str(&format!(" {h:>6}"));
        }
        let rows = self.scenarios.iter().flat_map(|s| s.rows(self.floor_rps));
        std::iter::once(heading).chain(rows).collect()
    }

    /// The line after the table comparing the order route's Postgres CPU
    /// with pgbench's running the same SQL: the scenario with a pgbench run,
    /// each measured run's ms per request, and app/pgbench against the goal.
    /// `None` without such a scenario or any measurement.
    pub fn order_database_cpu(&self) -> Option<String> {
        let mut scenarios = self.scenarios.iter();
        let order = scenarios.find(|s| s.rps_of(Target::Pgbench).is_some())?;
        let runs = [
            (Target::App, ""),
            (Target::Probe, ""),
            (Target::Composed, ""),
            (Target::Pgbench, " per transaction"),
        ];
        let parts: Vec<String> = runs
            .into_iter()
            .filter_map(|(t, per)| {
                let ms = order.pg_cpu_of(t)?;
                Some(format!("{} {ms:.3} ms{per}", t.name()))
            })
            .collect();
        if parts.is_empty() {
            return None;
        }
        let mut line = format!("Postgres CPU per order: {}", parts.join(", "));
        let pgbench = order.pg_cpu_of(Target::Pgbench).filter(|ms| *ms > 0.0);
        if let (Some(app), Some(pgbench)) = (order.pg_cpu_of(Target::App), pgbench) {
            let times = app / pgbench;
            line.push_str(&format!(
                "; app/pgbench {times:.2} (goal ≤ {ORDER_PG_CPU_GOAL})"
            ));
        }
        Some(line)
    }
}

fn floor_rps(scenarios: &[ScenarioResult]) -> f64 {
    let mut runs = scenarios.iter().flat_map(|s| &s.runs);
    runs.find(|r| r.target == Target::Floor)
        .map_or(0.0, |r| r.load.rps())
}

/// Milliseconds to three decimals; `-` for none.
fn millis(ms: Option<f64>) -> String {
    ms.map_or("-".to_string(), |ms| format!("{ms:.3}"))
}

/// `rps / of` to two decimals; `-` without a positive `of`.
fn ratio(rps: f64, of: Option<f64>) -> String {
    of.filter(|of| *of > 0.0)
        .map_or("-".to_string(), |of| format!("{:.2}", rps / of))
}

impl ScenarioResult {
    fn rps_of(&self, target: Target) -> Option<f64> {
        let mut runs = self.runs.iter();
        runs.find(|r| r.target == target).map(|r| r.load.rps())
    }

    fn pg_cpu_of(&self, target: Target) -> Option<f64> {
        let mut runs = self.runs.iter();
        runs.find(|r| r.target == target).and_then(|r| r.pg_cpu_ms)
    }

    fn rows(&self, floor_rps: f64) -> Vec<String> {
        let probe = self.rps_of(Target::Probe);
        let composed = self.rps_of(Target::Composed);
        // The native comparison: the axum baseline, or for POST /order
        // pgbench running the same SQL call.
        let native = self
            .rps_of(Target::Baseline)
            .or_else(|| self.rps_of(Target::Pgbench));
        self.runs
            .iter()
            .map(|r| {
                let rps = r.load.rps();
                let (p50, p99) = r.load.percentiles();
                let mut line = format!(
                    "{:<28} {:<9} {:>9.0} {:>8.2} {:>8.2} {:>7} {:>7} {:>7} {:>7} {:>7}",
                    self.scenario,
                    r.target.name(),
                    rps,
                    p50,
                    p99,
                    ratio(rps, Some(floor_rps)),
                    ratio(rps, probe),
                    ratio(rps, composed),
                    ratio(rps, native),
                    millis(r.pg_cpu_ms),
                );
                for (key, _) in COUNTERS {
                    let count = r.per_request.as_ref().and_then(|c| c.get(*key));
                    let v = count.map_or("-".to_string(), |v| format!("{v:.2}"));
                    line.push_str(&format!(" {v:>6}"));
                }
                line
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn wrk(rps: f64) -> Load {
        Load::Wrk(wrk::Load {
            requests: 100,
            rps,
            p50_ms: 1.5,
            p99_ms: 9.25,
            non_2xx: 0,
        })
    }

    fn run(target: Target, load: Load) -> RunResult {
        RunResult {
            target,
            path: "/x",
            load,
            per_request: None,
            pg_cpu_ms: None,
        }
    }

    fn with_pg_cpu(mut run: RunResult, ms: f64) -> RunResult {
        run.pg_cpu_ms = Some(ms);
        run
    }

    fn results(scenarios: Vec<ScenarioResult>) -> Results {
        let opts = Options {
            seconds: 5,
            connections: 32,
            runtime: Runtime::Host,
        };
        Results::new(&opts, scenarios, BTreeMap::new(), None).unwrap()
    }

    fn order_scenario() -> ScenarioResult {
        let pgbench = Load::Pgbench {
            rps: 2000.0,
            avg_ms: Some(16.0),
        };
        ScenarioResult {
            scenario: "POST /order",
            runs: vec![
                with_pg_cpu(run(Target::App, wrk(800.0)), 0.75),
                with_pg_cpu(run(Target::Probe, wrk(1000.0)), 0.625),
                with_pg_cpu(run(Target::Composed, wrk(1200.0)), 0.7),
                with_pg_cpu(run(Target::Pgbench, pgbench), 0.5),
            ],
        }
    }

    #[test]
    fn ratios_are_to_the_floor_the_probes_and_the_native_run() {
        let floor = ScenarioResult {
            scenario: "floor",
            runs: vec![run(Target::Floor, wrk(10000.0))],
        };
        let r = results(vec![floor, order_scenario()]);
        assert_eq!(r.floor_rps, 10000.0);
        let table = r.table();
        let cells = |i: usize| table[i].split_whitespace().collect::<Vec<_>>();
        assert_eq!(cells(0)[..3], ["scenario", "target", "req/s"]);
        // "p50 ms" and "p99 ms" are two words each.
        assert_eq!(
            cells(0)[8..13],
            ["/probe", "/comp", "/native", "pg.ms", "pg"]
        );
        // (row, first cell, cells): "POST /order" is two words.
        let expected = [
            (1, 1, "floor 10000 1.50 9.25 1.00 - - - -"),
            (2, 2, "app 800 1.50 9.25 0.08 0.80 0.67 0.40 0.750"),
            (3, 2, "probe 1000 1.50 9.25 0.10 1.00 0.83 0.50 0.625"),
            (4, 2, "composed 1200 1.50 9.25 0.12 1.20 1.00 0.60 0.700"),
            (5, 2, "pgbench 2000 0.00 0.00 0.20 2.00 1.67 1.00 0.500"),
        ];
        for (row, at, want) in expected {
            assert_eq!(cells(row)[at..at + 9].join(" "), want, "row {row}");
        }
        assert!(cells(5)[11..].iter().all(|c| *c == "-"));
    }

    #[test]
    fn without_a_floor_or_comparison_a_ratio_is_a_dash() {
        assert_eq!(ratio(5.0, None), "-");
        assert_eq!(ratio(5.0, Some(0.0)), "-");
        assert_eq!(ratio(5.0, Some(4.0)), "1.25");
        let r = results(vec![order_scenario()]);
        assert_eq!(r.floor_rps, 0.0);
        // "POST /order" is two words: /floor is the seventh.
        assert_eq!(r.table()[1].split_whitespace().nth(6), Some("-"));
    }

    #[test]
    fn counts_are_per_request_and_shown_by_heading() {
        let counts = |pairs: &[(&str, f64)]| -> Counts {
            pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        let before = counts(&[("pg_statements", 10.0), ("instances", 4.0)]);
        let after = counts(&[
            ("pg_statements", 210.0),
            ("instances", 104.0),
            ("traps", 0.0),
        ]);
        let each = per_request(&before, &after, 100);
        assert_eq!(
            each,
            counts(&[("pg_statements", 2.0), ("instances", 1.0), ("traps", 0.0)])
        );
        assert_eq!(per_request(&before, &after, 0)["pg_statements"], 200.0);
        let mut app = run(Target::App, wrk(100.0));
        app.per_request = Some(each);
        let line = &ScenarioResult {
            scenario: "s",
            runs: vec![app],
        }
        .rows(0.0)[0];
        let cells: Vec<&str> = line.split_whitespace().collect();
        // pg.ms (not measured), pg, r.conn, r.cmd, kv, http, inst, …
        assert_eq!(cells[9..16], ["-", "2.00", "-", "-", "-", "-", "1.00"]);
    }

    #[test]
    fn the_order_line_compares_postgres_cpu_with_pgbench() {
        let mut r = results(vec![order_scenario()]);
        assert_eq!(
            r.order_database_cpu().unwrap(),
            "Postgres CPU per order: app 0.750 ms, probe 0.625 ms, composed 0.700 ms, \
             pgbench 0.500 ms per transaction; app/pgbench 1.50 (goal ≤ 1.25)"
        );
        // What was not measured is left out, and without pgbench's the ratio.
        for run in &mut r.scenarios[0].runs[1..] {
            run.pg_cpu_ms = None;
        }
        assert_eq!(
            r.order_database_cpu().unwrap(),
            "Postgres CPU per order: app 0.750 ms"
        );
        r.scenarios[0].runs[0].pg_cpu_ms = None;
        assert_eq!(r.order_database_cpu(), None);
        let floor = ScenarioResult {
            scenario: "floor",
            runs: vec![with_pg_cpu(run(Target::Floor, wrk(10000.0)), 0.1)],
        };
        assert_eq!(results(vec![floor]).order_database_cpu(), None);
    }

    /// The JSON as the README describes it (and as it always was).
    #[test]
    fn the_json_keeps_its_shape() {
        let mut r = results(vec![order_scenario()]);
        r.unix_time = 1;
        r.wasm_sizes.insert("hello".into(), 42);
        r.scenarios[0].runs[0].per_request = Some(Counts::from([("traps".into(), 0.5)]));
        r.scenarios[0].runs[1].pg_cpu_ms = None;
        let load =
            json!({"requests": 100, "rps": 800.0, "p50_ms": 1.5, "p99_ms": 9.25, "non_2xx": 0});
        let probe_load =
            json!({"requests": 100, "rps": 1000.0, "p50_ms": 1.5, "p99_ms": 9.25, "non_2xx": 0});
        let composed_load =
            json!({"requests": 100, "rps": 1200.0, "p50_ms": 1.5, "p99_ms": 9.25, "non_2xx": 0});
        let pgbench_load = json!({"rps": 2000.0, "avg_ms": 16.0});
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({
                "unix_time": 1,
                "runtime": "project-host",
                "seconds": 5,
                "connections": 32,
                "floor_rps": 0.0,
                "scenarios": [{"scenario": "POST /order", "runs": [
                    {"target": "app", "path": "/x", "load": load, "per_request": {"traps": 0.5},
                     "pg_cpu_ms": 0.75},
                    {"target": "probe", "path": "/x", "load": probe_load, "per_request": null,
                     "pg_cpu_ms": null},
                    {"target": "composed", "path": "/x", "load": composed_load,
                     "per_request": null, "pg_cpu_ms": 0.7},
                    {"target": "pgbench", "path": "/x", "load": pgbench_load, "per_request": null,
                     "pg_cpu_ms": 0.5},
                ]}],
                "wasm_sizes": {"hello": 42},
                "instantiation": null,
            })
        );
    }

    #[test]
    fn instantiation_lines_read_back_as_printed() {
        let line = r#"{"component":"gateway","n":500,"p50_us":812.5,"p99_us":1430.0}"#;
        let parsed: Instantiation = serde_json::from_str(line).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), line);
    }
}
