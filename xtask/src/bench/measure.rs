//! Runs the scenarios in order, each run after a 2 s warm-up, and stops
//! each server after its last run.

use std::path::{Path, PathBuf};

use super::results::{self, RunResult, ScenarioResult};
use super::scenarios::{runs_after, Request, Run, Scenario, SCENARIOS};
use super::servers::{Server, Servers};
use super::{backends, pg_cpu, pgbench, scripts, Options};
use crate::wrk;

pub fn scenarios(
    servers: Servers,
    opts: &Options,
    out: &Path,
    db_url: &str,
) -> anyhow::Result<Vec<ScenarioResult>> {
    let mut runner = Runner {
        servers,
        opts,
        out,
        db_url,
    };
    let scenarios = SCENARIOS.iter().enumerate();
    scenarios.map(|(i, s)| runner.scenario(i, s)).collect()
}

struct Runner<'a> {
    servers: Servers,
    opts: &'a Options,
    /// Where wrk's scripts go.
    out: &'a Path,
    db_url: &'a str,
}

impl Runner<'_> {
    /// Scenario `i`, then each server it ran last stopped.
    fn scenario(&mut self, i: usize, scenario: &Scenario) -> anyhow::Result<ScenarioResult> {
        if scenario.prime {
            for run in scenario.runs {
                let server = self.servers.get(run.target)?;
                server.prime(run.request.path())?;
            }
        }
        let mut runs = Vec::new();
        for (j, run) in scenario.runs.iter().enumerate() {
            runs.push(self.run(scenario, run)?);
            // Idle servers' pools would leave pgbench no connections.
            if !runs_after(SCENARIOS, i, j, run.target) {
                self.servers.stop(run.target);
            }
        }
        Ok(ScenarioResult {
            scenario: scenario.name,
            runs,
        })
    }

    fn run(&self, scenario: &Scenario, run: &Run) -> anyhow::Result<RunResult> {
        let connections = scenario.connections.unwrap_or(self.opts.connections);
        if run.request == Request::Pgbench {
            let seconds = self.opts.seconds;
            return pgbench::create_order(self.db_url, seconds, connections, self.out);
        }
        let server = self.servers.get(run.target)?;
        backends::release_idle_connections(self.db_url)?;
        let scripts = scripts::write(run.request, self.out)?;
        let result = self.measure(server, connections, run.request.path(), scripts)?;
        if let (Some(ids), results::Load::Wrk(found)) = (run.request.own_ids(), &result.load) {
            // Past its stretch a run reads another's ids (warm) or none.
            if found.requests > ids {
                anyhow::bail!(
                    "{} on {}: {} requests walked past its {ids} ids of its own \
                     (raise PRODUCTS in xtask/src/bench.rs, or run fewer --seconds)",
                    server.target.name(),
                    scenario.name,
                    found.requests
                );
            }
        }
        Ok(result)
    }

    /// wrk on `path` after a warm-up, or on what `scripts` (warm-up,
    /// measured run) send.
    fn measure(
        &self,
        server: &Server,
        connections: u32,
        path: &'static str,
        scripts: Option<(PathBuf, PathBuf)>,
    ) -> anyhow::Result<RunResult> {
        let url = format!("{}{}", server.base, path);
        let (warm_up, measured) = match &scripts {
            Some((w, m)) => (Some(w.as_path()), Some(m.as_path())),
            None => (None, None),
        };
        wrk::run(&url, 2, connections, warm_up)?;
        let before = server.counters();
        let pg_before = pg_cpu::used_secs();
        let found = wrk::run(&url, self.opts.seconds, connections, measured)?;
        let pg_cpu_ms = pg_cpu::per_request_ms(pg_before, pg_cpu::used_secs(), found.requests);
        let name = server.target.name();
        eprintln!(
            "{name:<10} {url}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
            found.rps, found.p50_ms, found.p99_ms
        );
        // A scenario that answered errors measured the wrong thing; a few
        // (the machine's Postgres refusing connections beyond max_connections
        // while three targets hold pools) are reported, not hidden.
        let non_2xx = format!(
            "{} of {} responses were not 2xx",
            found.non_2xx, found.requests
        );
        if found.non_2xx * 100 > found.requests {
            anyhow::bail!("{name} {url}: {non_2xx}");
        } else if found.non_2xx > 0 {
            eprintln!("warning: {name} {url}: {non_2xx}");
        }
        let per_request = match (before, server.counters()) {
            (Some(b), Some(a)) => Some(results::per_request(&b, &a, found.requests)),
            _ => None,
        };
        Ok(RunResult {
            target: server.target,
            path,
            load: results::Load::Wrk(found),
            per_request,
            pg_cpu_ms,
        })
    }
}
