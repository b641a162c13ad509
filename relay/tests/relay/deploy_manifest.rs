//! The relay's Deployment, its `--help` and the README agree: every variable
//! the manifest sets is one the relay reads and the README documents, and the
//! probes hit the relay's own endpoints on the port it listens on.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_yaml_ng::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// The environment variables the relay reads, from its `--help`.
fn relay_env() -> BTreeSet<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_relay"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    help.split("[env: ")
        .skip(1)
        .map(|rest| rest.split(['=', ']']).next().unwrap().to_string())
        .collect()
}

fn container() -> Value {
    let text = std::fs::read_to_string(root().join("deploy/kubernetes/base/relay.yaml")).unwrap();
    let doc: Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(doc["kind"].as_str(), Some("Deployment"));
    doc["spec"]["template"]["spec"]["containers"][0].clone()
}

#[test]
fn the_manifest_sets_only_variables_the_relay_reads_and_the_readme_documents() {
    let known = relay_env();
    assert!(
        known.contains("DATABASE_URL") && known.contains("RELAY_BATCH_SIZE"),
        "{known:?}"
    );
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for name in &known {
        assert!(
            readme.contains(&format!("`{name}`")),
            "README does not document {name}"
        );
    }
    let c = container();
    let set: Vec<&str> = c["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    for name in &set {
        assert!(
            known.contains(*name),
            "relay.yaml sets {name}, which the relay does not read"
        );
    }
    assert!(set.contains(&"DATABASE_URL") && set.contains(&"KAFKA_BROKERS"));
}

#[test]
fn probes_hit_the_relays_endpoints_on_its_listening_port() {
    let c = container();
    let addr = c["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|e| e["name"].as_str() == Some("RELAY_HTTP_ADDR"))
        .and_then(|e| e["value"].as_str())
        .expect("RELAY_HTTP_ADDR is set (the default binds 127.0.0.1, unreachable by probes)")
        .to_string();
    assert!(addr.starts_with("0.0.0.0:"), "{addr}");
    let port: u64 = addr.rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(c["ports"][0]["containerPort"].as_u64(), Some(port));
    let name = c["ports"][0]["name"].as_str().unwrap();
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        assert_eq!(c[probe]["httpGet"]["path"].as_str(), Some(path));
        assert_eq!(c[probe]["httpGet"]["port"].as_str(), Some(name));
    }
}
