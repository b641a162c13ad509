//! What requests cost, counted by the host (exact, unlike timings).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::Serialize;

#[derive(Debug, Default)]
pub struct Stats {
    pub instances: AtomicU64,
    pub pg_connections: AtomicU64,
    pub pg_statements: AtomicU64,
    pub redis_connections: AtomicU64,
    pub redis_commands: AtomicU64,
    pub outbound_http: AtomicU64,
    pub outbound_denied: AtomicU64,
    /// Connections handed back inside a transaction: Spin would leak them
    /// into the next request. Must stay 0.
    pub leaked_transactions: AtomicU64,
    pub traps: AtomicU64,
    /// `variables::get` of a component variable templated on an application
    /// variable: Spin asks its providers on every call (costly on Spin).
    pub variables_app: AtomicU64,
    /// `variables::get` of a literal component variable (cheap on Spin).
    pub variables_literal: AtomicU64,
    /// Guest stdout/stderr writes: each is a host call on Spin.
    pub stdio_writes: AtomicU64,
    pub stdio_bytes: AtomicU64,
    /// Key-value host calls (`Store::open` and each operation): no TCP
    /// connect on Spin (one connection manager per store and process).
    pub key_value_calls: AtomicU64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    pub instances: u64,
    pub pg_connections: u64,
    pub pg_statements: u64,
    pub redis_connections: u64,
    pub redis_commands: u64,
    pub outbound_http: u64,
    pub outbound_denied: u64,
    pub leaked_transactions: u64,
    pub traps: u64,
    pub variables_app: u64,
    pub variables_literal: u64,
    pub stdio_writes: u64,
    pub stdio_bytes: u64,
    pub key_value_calls: u64,
}

impl Stats {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            instances: self.instances.load(Relaxed),
            pg_connections: self.pg_connections.load(Relaxed),
            pg_statements: self.pg_statements.load(Relaxed),
            redis_connections: self.redis_connections.load(Relaxed),
            redis_commands: self.redis_commands.load(Relaxed),
            outbound_http: self.outbound_http.load(Relaxed),
            outbound_denied: self.outbound_denied.load(Relaxed),
            leaked_transactions: self.leaked_transactions.load(Relaxed),
            traps: self.traps.load(Relaxed),
            variables_app: self.variables_app.load(Relaxed),
            variables_literal: self.variables_literal.load(Relaxed),
            stdio_writes: self.stdio_writes.load(Relaxed),
            stdio_bytes: self.stdio_bytes.load(Relaxed),
            key_value_calls: self.key_value_calls.load(Relaxed),
        }
    }
}

impl StatsSnapshot {
    /// Counts since `earlier`.
    pub fn since(&self, earlier: &StatsSnapshot) -> StatsSnapshot {
        StatsSnapshot {
            instances: self.instances - earlier.instances,
            pg_connections: self.pg_connections - earlier.pg_connections,
            pg_statements: self.pg_statements - earlier.pg_statements,
            redis_connections: self.redis_connections - earlier.redis_connections,
            redis_commands: self.redis_commands - earlier.redis_commands,
            outbound_http: self.outbound_http - earlier.outbound_http,
            outbound_denied: self.outbound_denied - earlier.outbound_denied,
            leaked_transactions: self.leaked_transactions - earlier.leaked_transactions,
            traps: self.traps - earlier.traps,
            variables_app: self.variables_app - earlier.variables_app,
            variables_literal: self.variables_literal - earlier.variables_literal,
            stdio_writes: self.stdio_writes - earlier.stdio_writes,
            stdio_bytes: self.stdio_bytes - earlier.stdio_bytes,
            key_value_calls: self.key_value_calls - earlier.key_value_calls,
        }
    }
}
