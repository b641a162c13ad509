//! The benchmark's own seeded database and Redis, and the Spin variables
//! that point the apps at them.

use std::collections::HashMap;
use std::process::Command;

use anyhow::Context;
use test_support::RedisServer;

use super::PRODUCTS;
use crate::{env, run};

/// The benchmark's account: user 1, seeded with an argon2id hash.
pub const BENCH_EMAIL: &str = "bench@example.com";
pub const BENCH_PASSWORD: &str = "bench-password-1";

pub struct Backends {
    pub db_url: String,
    _redis: RedisServer,
    pub redis_url: String,
    pub variables: HashMap<String, String>,
    /// The `cache` key-value store on this Redis (`--runtime-config-file`).
    pub runtime_config: std::path::PathBuf,
}

impl Backends {
    pub fn start() -> anyhow::Result<Backends> {
        let db_url = env::database_url_named("platform_bench")?;
        run(crate::cargo()
            .args(["run", "--quiet", "-p", "migrate", "--", "--create-database"])
            .env("DATABASE_URL", &db_url))?;
        seed(&db_url)?;
        let redis = RedisServer::start().context("starting redis-server")?;
        let redis_url = redis.url();
        let mut variables = env::spin_variables_for(&db_url, &redis_url)?;
        unlimited(&mut variables);
        let runtime_config = env::runtime_config("bench", &redis_url)?;
        Ok(Backends {
            db_url,
            _redis: redis,
            redis_url,
            variables,
            runtime_config,
        })
    }
}

/// The limiters run (their cost is part of the routes) but never refuse.
fn unlimited(variables: &mut HashMap<String, String>) {
    let never = "1000000000/1000000000";
    for limit in [
        "RATE_LIMIT",
        "LIST_RATE_LIMIT",
        "LOGIN_RATE_LIMIT",
        "LOGIN_FAILURE_RATE_LIMIT",
        "LOGIN_ACCOUNT_FAILURE_RATE_LIMIT",
    ] {
        variables.insert(format!("SPIN_VARIABLE_{limit}"), never.into());
    }
}

/// PRODUCTS products and the bench account, on an emptied database.
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
    run(Command::new("psql").args(["-q", "-v", "ON_ERROR_STOP=1", db_url, "-c", &sql]))?;
    // The seed's aftermath (autovacuum and analyze of PRODUCTS fresh rows,
    // their hint bits) done now, not on the server's CPU during the first
    // targets' runs: pg.ms counts the whole server. (VACUUM cannot run in
    // the seed's transaction.)
    let settle = "VACUUM (ANALYZE) products, users";
    run(Command::new("psql").args(["-q", "-v", "ON_ERROR_STOP=1", db_url, "-c", settle]))
}

/// Ends the bench database's idle backends before a run. The servers not
/// under load keep their pools (Spin does not shrink them), and four pooled
/// targets at 32 connections pass the server's `max_connections` (100): the
/// target under load was refused connections. A pool that finds its
/// connection ended opens another, in the warm-up.
pub fn release_idle_connections(db_url: &str) -> anyhow::Result<()> {
    let sql = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
               WHERE datname = current_database() AND pid <> pg_backend_pid() \
               AND state = 'idle'";
    run(Command::new("psql")
        .args(["-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", db_url, "-c", sql])
        .stdout(std::process::Stdio::null()))
}
