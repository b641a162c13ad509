//! Real servers for tests and benchmarks, started on free ports and killed
//! when dropped. Nothing here fakes a server: these are the real binaries.

mod kafka_broker;
mod postgres_server;
mod process;
mod redis_server;

pub use kafka_broker::KafkaBroker;
pub use postgres_server::PostgresServer;
pub use process::{free_port, wait_listening, KillOnDrop};
pub use redis_server::RedisServer;
