//! Project tasks: `cargo xtask up`, `cargo xtask test`, and their parts.

mod bench;
mod bench_relay;
mod env;
mod py_tools;
mod runtime;
mod storefront;
mod up;
mod wrk;

use std::process::Command;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use runtime::Runtime;

#[derive(Parser)]
#[command(about = "Tasks for the order & payment platform")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build, migrate, and run the platform until Ctrl-C, each part its own
    /// process: the HTTP components on http://127.0.0.1:3000
    /// (SPIN_HTTP_LISTEN_ADDR), the Redis-trigger workers (restarted when
    /// they exit, as on a Redis disconnect), the relay (Kafka only with
    /// KAFKA_BROKERS set), a local Midtrans sandbox and a mail sink.
    Up {
        /// `spin` (real Spin; the default when on PATH) or `host` (the
        /// project's wasmtime host).
        #[arg(long, value_enum)]
        runtime: Option<Runtime>,
        /// Port of the Midtrans sandbox on 127.0.0.1. Its server key is
        /// SPIN_VARIABLE_MIDTRANS_SERVER_KEY, or one kept in .spin/.
        #[arg(long, default_value_t = 3900)]
        midtrans_port: u16,
        /// No Midtrans sandbox: payments use the SPIN_VARIABLE_MIDTRANS_*
        /// you set (so does setting a Midtrans base URL).
        #[arg(long, conflicts_with = "midtrans_port")]
        no_midtrans_sandbox: bool,
        /// Port of the local OAuth provider (Google, GitHub and Facebook
        /// sign-in with a dev account) on 127.0.0.1.
        #[arg(long, default_value_t = 3901)]
        oauth_port: u16,
        /// No local OAuth provider: sign-in uses the SPIN_VARIABLE_*_CLIENT_ID
        /// you set (so does setting one).
        #[arg(long, conflicts_with = "oauth_port")]
        no_fake_oauth: bool,
        /// Port of the mail sink on 127.0.0.1: a local Resend that keeps
        /// every mail the shop sends (see them, and follow their links, at
        /// its address). Its key is kept in .spin/.
        #[arg(long, default_value_t = 3902)]
        mail_port: u16,
        /// No mail sink: mail goes to the SPIN_VARIABLE_RESEND_* you set (so
        /// does setting SPIN_VARIABLE_RESEND_API_BASE_URL).
        #[arg(long, conflicts_with = "mail_port")]
        no_mail_sink: bool,
    },
    /// Everything CI runs: format, lints, unit, component and end-to-end tests.
    Test,
    /// Fuzz the API against its OpenAPI document with Schemathesis (the
    /// stage `test` runs with the default budget), on the project host.
    Fuzz {
        /// Requests for the whole run, shared out over the operations.
        #[arg(long, default_value_t = 1000)]
        cases: u32,
        /// Hypothesis's seed: the same seed, the same requests.
        #[arg(long, default_value_t = 20261206)]
        seed: u64,
    },
    /// Build every component for wasm32-wasip2 (release).
    Build,
    /// Create the database if needed and apply migrations/.
    Migrate,
    /// Benchmarks: each scenario beside the floor and a native baseline.
    Bench {
        /// Seconds per measured run (after a 2 s warm-up).
        #[arg(long, default_value_t = 10)]
        seconds: u32,
        /// Concurrent connections.
        #[arg(long, default_value_t = 32)]
        connections: u32,
        /// `host` (the project's wasmtime host, which counts host calls) or
        /// `spin` (needs a `spin` binary on PATH).
        #[arg(long, value_enum, default_value_t = Runtime::Host)]
        runtime: Runtime,
        /// `http` (the gateway's scenarios), `relay` (outbox → Kafka),
        /// `sweep` (the maintenance sweep over 100 000 pending orders) or `all`.
        #[arg(long, default_value = "all")]
        suite: String,
    },
    /// Give an existing account the admin role (or take it back with
    /// --revoke). Takes effect at the account's next sign-in or refresh.
    Admin {
        email: String,
        #[arg(long)]
        revoke: bool,
    },
    /// Print an access token signed with the local JWT secret.
    Token {
        #[arg(long, default_value_t = 1)]
        user_id: i64,
        #[arg(long)]
        admin: bool,
    },
}

/// The components `spin.toml` runs, and the tests' fixture components.
pub const COMPONENTS: &[&str] = &[
    "catalog",
    "gateway",
    "products-api",
    "users",
    "accounts-api",
    "orders",
    "orders-api",
    "payments",
    "payments-api",
    "admin-api",
    "order-created-worker",
    "payment-updated-worker",
    "maintenance-worker",
    "mail-worker",
    "storefront",
    "probe",
    "hello",
    "shape",
    "shape-service",
    "shape-composed",
];

fn main() -> anyhow::Result<()> {
    let root = env::workspace_root()?;
    std::env::set_current_dir(&root)?;
    match Cli::parse().task {
        Task::Build => build_components(),
        Task::Migrate => migrate(),
        Task::Up {
            runtime,
            midtrans_port,
            no_midtrans_sandbox,
            oauth_port,
            no_fake_oauth,
            mail_port,
            no_mail_sink,
        } => {
            let ended = up::up(up::Options {
                runtime,
                midtrans_sandbox: !no_midtrans_sandbox,
                midtrans_port,
                fake_oauth: !no_fake_oauth,
                oauth_port,
                mail_sink: !no_mail_sink,
                mail_port,
            })?;
            match ended.filter(|status| !status.success()) {
                Some(status) => {
                    use std::os::unix::process::ExitStatusExt;
                    let code = status.code().or(status.signal().map(|s| 128 + s));
                    std::process::exit(code.unwrap_or(1))
                }
                None => Ok(()),
            }
        }
        Task::Test => test(),
        Task::Fuzz { cases, seed } => fuzz(cases, seed),
        Task::Bench {
            seconds,
            connections,
            runtime,
            suite,
        } => {
            let http = || {
                bench::bench(bench::Options {
                    seconds,
                    connections,
                    runtime,
                })
            };
            match suite.as_str() {
                "http" => http(),
                "relay" => bench_relay::bench_relay(seconds),
                "sweep" => bench_sweep(),
                "all" => http()
                    .and_then(|()| bench_relay::bench_relay(seconds))
                    .and_then(|()| bench_sweep()),
                other => bail!("unknown suite {other:?}: http, relay, sweep or all"),
            }
        }
        Task::Admin { email, revoke } => admin(&email, revoke),
        Task::Token { user_id, admin } => {
            let secret = env::jwt_secret()?;
            let role = if admin {
                auth_core::Role::Admin
            } else {
                auth_core::Role::Customer
            };
            let token = auth_core::issue_access_token(secret.as_bytes(), user_id, role, 3600)
                .map_err(|e| anyhow::anyhow!(e.message()))?;
            println!("{token}");
            Ok(())
        }
    }
}

pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("$ {}", display(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("running {}", display(cmd)))?;
    if !status.success() {
        bail!("`{}` failed with {status}", display(cmd));
    }
    Ok(())
}

pub fn display(cmd: &Command) -> String {
    std::iter::once(cmd.get_program().to_string_lossy().into_owned())
        .chain(cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

pub fn build_components() -> anyhow::Result<()> {
    storefront::build()?;
    let mut cmd = cargo();
    cmd.args(["build", "--target", "wasm32-wasip2", "--release"]);
    for c in COMPONENTS {
        cmd.args(["-p", c]);
    }
    run(&mut cmd)
}

fn migrate() -> anyhow::Result<()> {
    run(cargo()
        .args(["run", "--quiet", "-p", "migrate", "--", "--create-database"])
        .env("DATABASE_URL", env::database_url()))
}

/// `UPDATE users SET role …` through psql, the email passed as a psql
/// variable (quoted by psql, never spliced into the SQL).
fn admin(email: &str, revoke: bool) -> anyhow::Result<()> {
    let email = platform_core::account::Email::parse(email.to_string())
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let role = if revoke { "customer" } else { "admin" };
    let sql = format!(
        "UPDATE users SET role = '{role}', updated_at = now() AT TIME ZONE 'UTC' \
         WHERE lower(email) = :'email' RETURNING id;\n"
    );
    let mut child = Command::new("psql")
        .args(["-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-v"])
        .arg(format!("email={}", email.as_str()))
        .arg(env::database_url())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("running psql")?;
    std::io::Write::write_all(child.stdin.as_mut().context("psql stdin")?, sql.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("psql failed");
    }
    let ids = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if ids.is_empty() {
        bail!("no account with the email {}", email.as_str());
    }
    println!("user {ids} ({}) is now {role}", email.as_str());
    Ok(())
}

/// The maintenance sweep over `SWEEP_BENCH_ORDERS` (100 000) pending orders
/// on the project host, with the workers and the Midtrans sandbox: the
/// ignored benchmark in tests/integration/tests/api/lifecycle_bench.rs.
fn bench_sweep() -> anyhow::Result<()> {
    build_components()?;
    run(&mut api_tests(&["--ignored", "lifecycle_bench::"]))
}

/// The contract fuzz alone (tests/integration/tests/api/contract_fuzz.rs)
/// with a budget and seed of its own.
fn fuzz(cases: u32, seed: u64) -> anyhow::Result<()> {
    build_components()?;
    run(api_tests(&["contract_fuzz::"])
        .env("FUZZ_TOOLS_BIN", py_tools::ensure(&py_tools::FUZZ)?)
        .env("FUZZ_CASES", cases.to_string())
        .env("FUZZ_SEED", seed.to_string()))
}

/// `cargo test` of the integration tests (one binary, `api`) named by
/// `filter`, with their output shown, against the local Postgres.
fn api_tests(filter: &[&str]) -> Command {
    let mut cmd = cargo();
    cmd.args([
        "test",
        "-p",
        "integration",
        "--test",
        "api",
        "--",
        "--nocapture",
    ])
    .args(filter)
    .env("DATABASE_URL", env::admin_database_url());
    cmd
}

fn test() -> anyhow::Result<()> {
    build_components()?;
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    let mut wasm_clippy = cargo();
    wasm_clippy.args(["clippy", "--target", "wasm32-wasip2", "--release"]);
    for c in COMPONENTS {
        wasm_clippy.args(["-p", c]);
    }
    run(wasm_clippy.args(["--", "-D", "warnings"]))?;
    storefront::test()?;
    // The Postman collection in docs/postman is generated from the document.
    run(Command::new("node").args(["tools/postman/generate.mjs", "--check"]))?;
    // kubectl and kubernetes-validate for deploy_manifests, Schemathesis
    // for contract_fuzz (tests/integration/tests/api).
    run(cargo()
        .args(["test", "--workspace"])
        .env("DATABASE_URL", env::admin_database_url())
        .env("DEPLOY_TOOLS_BIN", py_tools::ensure(&py_tools::DEPLOY)?)
        .env("FUZZ_TOOLS_BIN", py_tools::ensure(&py_tools::FUZZ)?))
}
