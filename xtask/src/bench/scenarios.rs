//! The `http` suite as data: each scenario, the targets it runs on and
//! what each sends. `measure.rs` runs them in this order.

use serde::Serialize;

use super::RANGE;

/// What a run loads: a server, or pgbench straight on Postgres.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The platform's HTTP components.
    App,
    /// `tests/fixtures/hello`: a trivial component on the same runtime.
    Floor,
    /// `tests/fixtures/shape`: the route's host calls and nothing else.
    Probe,
    /// `shape-composed`: the same host calls, each service's made by a
    /// library component composed into the route's (as the app's are).
    Composed,
    /// `bench/baseline`: axum doing the same work natively.
    Baseline,
    /// pgbench calling `create_order` at the same concurrency.
    Pgbench,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::App => "app",
            Target::Floor => "floor",
            Target::Probe => "probe",
            Target::Composed => "composed",
            Target::Baseline => "baseline",
            Target::Pgbench => "pgbench",
        }
    }
}

/// What one run sends (`scripts.rs` writes wrk's script for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// `GET` this path.
    Get(&'static str),
    /// `GET` this path as the bench account (a bearer token).
    SignedIn(&'static str),
    /// `POST /login` with the bench account's credentials.
    Login,
    /// `GET prefix<id>` over ids nobody asked for yet, the warm-up's from
    /// `warm`, the measured run's from `run` (each thread its own ids).
    Fresh {
        prefix: &'static str,
        warm: u64,
        run: u64,
    },
    /// `POST path` as the bench account, one unit of the next product,
    /// from `warm` for the warm-up and from `run` for the measured run.
    Order {
        path: &'static str,
        warm: u64,
        run: u64,
    },
    /// `create_order` through pgbench (no server, no warm-up).
    Pgbench,
}

impl Request {
    /// The path wrk is given, as the results name it (a script may send
    /// others: `Fresh` makes each request's path).
    pub fn path(self) -> &'static str {
        match self {
            Request::Get(path) | Request::SignedIn(path) => path,
            Request::Login => "/login",
            Request::Fresh { .. } => "",
            Request::Order { path, .. } => path,
            Request::Pgbench => "create_order()",
        }
    }

    /// How many ids of its own a run walks (`RANGE` from its start), when
    /// it walks any: more requests than that would read past them.
    pub fn own_ids(self) -> Option<u64> {
        match self {
            Request::Fresh { .. } | Request::Order { .. } => Some(RANGE),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub struct Run {
    pub target: Target,
    pub request: Request,
}

#[derive(Debug)]
pub struct Scenario {
    pub name: &'static str,
    /// Measured in this order, app first: the others are its comparisons.
    pub runs: &'static [Run],
    /// Instead of `--connections`.
    pub connections: Option<u32>,
    /// Each run's path is requested once, however long it takes, before
    /// any warm-up.
    pub prime: bool,
}

const fn run(target: Target, request: Request) -> Run {
    Run { target, request }
}

const PLAIN: Scenario = Scenario {
    name: "",
    runs: &[],
    connections: None,
    prime: false,
};

use Request::{Fresh, Get, Login, Order, SignedIn};
use Target::{App, Baseline, Composed, Floor, Probe};

// A table, laid out by hand.
#[rustfmt::skip]
pub const SCENARIOS: &[Scenario] = &[
    Scenario { name: "floor", runs: &[run(Floor, Get("/"))], ..PLAIN },
    Scenario {
        name: "GET /health (no backends)",
        runs: &[run(App, Get("/health")), run(Probe, Get("/health"))],
        ..PLAIN
    },
    Scenario {
        name: "cached GET /product/{id}",
        runs: &[
            run(App, Get("/product/1")),
            run(Probe, Get("/cached/1")),
            run(Composed, Get("/composed/cached/1")),
            run(Baseline, Get("/product/2")),
        ],
        ..PLAIN
    },
    // Every warm-up and measured run starts RANGE ids apart, so each reads
    // rows no earlier run read (cold in Postgres as in the cache).
    Scenario {
        name: "uncached GET /product/{id}",
        runs: &[
            run(App, Fresh { prefix: "/product/", warm: 0, run: RANGE }),
            run(Probe, Fresh { prefix: "/uncached/", warm: 2 * RANGE, run: 3 * RANGE }),
            run(Composed, Fresh { prefix: "/composed/uncached/", warm: 4 * RANGE, run: 5 * RANGE }),
            run(Baseline, Fresh { prefix: "/product/", warm: 6 * RANGE, run: 7 * RANGE }),
        ],
        ..PLAIN
    },
    // The first fill of a list page counts every seeded row (seconds under
    // load): filled once before the warm-up, the measured run sees the
    // steady state, not a pile-up of first fills.
    Scenario {
        name: "GET /product?page=",
        runs: &[
            run(App, Get("/product?page=3")),
            run(Probe, Get("/list?page=3")),
            run(Composed, Get("/composed/list?page=3")),
            run(Baseline, Get("/product?page=3")),
        ],
        prime: true,
        ..PLAIN
    },
    // Sign-in is argon2id at OWASP's parameters inside Wasm: one connection
    // gives the time of one login, full load its throughput on this machine.
    Scenario {
        name: "POST /login (1 connection)",
        runs: &[run(App, Login)],
        connections: Some(1),
        ..PLAIN
    },
    Scenario { name: "POST /login", runs: &[run(App, Login)], ..PLAIN },
    Scenario { name: "GET /me", runs: &[run(App, SignedIn("/me"))], ..PLAIN },
    // An order is one create_order call: pgbench runs the same call at the
    // same concurrency straight against Postgres (the goal: the app at 0.7
    // of it). The probe makes the same host calls on its own products.
    // pgbench comes after every other server's last run: each is stopped
    // then, and their pools would leave it no connections (100 in all).
    Scenario {
        name: "POST /order",
        runs: &[
            run(App, Order { path: "/order", warm: 1, run: RANGE }),
            run(Probe, Order { path: "/order", warm: 2 * RANGE, run: 3 * RANGE }),
            run(Composed, Order { path: "/composed/order", warm: 4 * RANGE, run: 5 * RANGE }),
            run(Target::Pgbench, Request::Pgbench),
        ],
        ..PLAIN
    },
    Scenario { name: "cached GET /order/{id}", runs: &[run(App, SignedIn("/order/1"))], ..PLAIN },
];

/// Whether `target` runs again after run `run` of scenario `scenario`
/// (else its server is stopped).
pub fn runs_after(scenarios: &[Scenario], scenario: usize, run: usize, target: Target) -> bool {
    let rest_of_this = &scenarios[scenario].runs[run + 1..];
    let later = scenarios[scenario + 1..].iter().flat_map(|s| s.runs);
    rest_of_this.iter().chain(later).any(|r| r.target == target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::PRODUCTS;

    fn scenario(name: &str) -> &'static Scenario {
        SCENARIOS.iter().find(|s| s.name == name).unwrap()
    }

    fn targets(s: &Scenario) -> Vec<Target> {
        s.runs.iter().map(|r| r.target).collect()
    }

    #[test]
    fn names_are_unique_and_every_scenario_runs() {
        for (i, s) in SCENARIOS.iter().enumerate() {
            assert!(!s.runs.is_empty(), "{}", s.name);
            assert!(
                SCENARIOS[..i].iter().all(|t| t.name != s.name),
                "{}",
                s.name
            );
        }
    }

    #[test]
    fn the_floor_runs_once_and_first() {
        let floors = SCENARIOS.iter().flat_map(|s| s.runs);
        assert_eq!(floors.filter(|r| r.target == Floor).count(), 1);
        assert_eq!(targets(&SCENARIOS[0]), [Floor]);
    }

    #[test]
    fn the_app_runs_first_with_its_probe_and_native_comparisons() {
        use Target::Pgbench;
        for (name, expected) in [
            ("GET /health (no backends)", &[App, Probe][..]),
            (
                "cached GET /product/{id}",
                &[App, Probe, Composed, Baseline],
            ),
            (
                "uncached GET /product/{id}",
                &[App, Probe, Composed, Baseline],
            ),
            ("GET /product?page=", &[App, Probe, Composed, Baseline]),
            ("POST /order", &[App, Probe, Composed, Pgbench]),
        ] {
            assert_eq!(targets(scenario(name)), expected, "{name}");
        }
        let with_probe = SCENARIOS.iter().filter(|s| targets(s).contains(&Probe));
        assert_eq!(with_probe.count(), 5);
        for s in &SCENARIOS[1..] {
            assert_eq!(s.runs[0].target, App, "{}", s.name);
        }
    }

    #[test]
    fn a_probe_sends_what_the_app_sends() {
        let kind = |r: Request| std::mem::discriminant(&r);
        for s in SCENARIOS {
            let app = s.runs.iter().find(|r| r.target == App);
            for probe in s
                .runs
                .iter()
                .filter(|r| matches!(r.target, Probe | Composed))
            {
                let app = app.unwrap().request;
                assert_eq!(kind(app), kind(probe.request), "{}", s.name);
            }
        }
    }

    #[test]
    fn only_plain_gets_are_primed_and_login_has_one_connection() {
        for s in SCENARIOS.iter().filter(|s| s.prime) {
            assert!(s.runs.iter().all(|r| matches!(r.request, Get(_))));
        }
        assert_eq!(scenario("POST /login (1 connection)").connections, Some(1));
        let others = SCENARIOS.iter().filter(|s| s.connections.is_some());
        assert_eq!(others.count(), 1);
    }

    /// Each stretch of fresh ids and of ordered products is its own.
    #[test]
    fn runs_walk_their_own_ids() {
        let mut caching_starts = Vec::new();
        let mut order_starts = Vec::new();
        for r in SCENARIOS.iter().flat_map(|s| s.runs) {
            match r.request {
                Fresh { warm, run, .. } => caching_starts.extend([warm, run]),
                Order { warm, run, .. } => order_starts.extend([warm, run]),
                _ => {}
            }
        }
        caching_starts.sort();
        assert_eq!(caching_starts.len(), 8);
        assert!(caching_starts.windows(2).all(|w| w[1] - w[0] >= RANGE));
        order_starts.sort();
        assert_eq!(order_starts.len(), 6);
        assert!(order_starts.windows(2).all(|w| w[1] - w[0] >= RANGE - 1));
        let last = caching_starts.iter().chain(&order_starts).max().unwrap();
        assert!(last + RANGE <= PRODUCTS);
    }

    #[test]
    fn pgbench_runs_with_only_the_app_still_up() {
        let all: Vec<(usize, usize, Target)> = SCENARIOS
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                s.runs
                    .iter()
                    .enumerate()
                    .map(move |(j, r)| (i, j, r.target))
            })
            .collect();
        let at = all.iter().position(|r| r.2 == Target::Pgbench).unwrap();
        let (i, j, _) = all[at - 1];
        for stopped in [Floor, Probe, Composed, Baseline] {
            assert!(!runs_after(SCENARIOS, i, j, stopped), "{stopped:?}");
        }
        assert!(runs_after(SCENARIOS, i, j, App));
    }

    #[test]
    fn a_server_stops_after_its_last_run() {
        assert!(!runs_after(SCENARIOS, 0, 0, Floor));
        assert!(runs_after(SCENARIOS, 1, 0, Probe));
        let last = SCENARIOS.len() - 1;
        assert!(!runs_after(SCENARIOS, last, 0, App));
    }

    #[test]
    fn targets_are_named_in_the_results_as_in_the_table() {
        for t in [App, Floor, Probe, Composed, Baseline, Target::Pgbench] {
            assert_eq!(serde_json::to_value(t).unwrap(), t.name());
        }
    }
}
