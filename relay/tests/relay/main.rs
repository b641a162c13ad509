//! The relay's tests as one binary (one link of rdkafka, the relay and the
//! integration helpers instead of three): each module was a test file.

mod deploy_manifest;
mod maintenance;
mod outbox_sql;
mod process;
mod relay_kafka;
