//! Generates the host bindings for the Spin interfaces the components import.
//!
//! Spin's WIT is never copied into the repository: it is taken from the
//! spin-sdk crate that the components build against (its directory comes
//! from `cargo metadata`), and a small world naming the three interfaces this
//! host implements is written next to it in OUT_DIR.

use std::path::{Path, PathBuf};
use std::process::Command;

const SPIN_SDK: &str = "spin-sdk";

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let sdk_wit = spin_sdk_dir().join("wit");
    let wit = out.join("wit");
    let _ = std::fs::remove_dir_all(&wit);
    std::fs::create_dir_all(&wit).expect("create OUT_DIR/wit");
    link_dir(&sdk_wit.join("deps"), &wit.join("deps"));
    std::fs::write(
        wit.join("host.wit"),
        "package platform:host;\n\
         world host {\n\
         \x20   import fermyon:spin/variables@2.0.0;\n\
         \x20   import fermyon:spin/redis@2.0.0;\n\
         \x20   import fermyon:spin/key-value@2.0.0;\n\
         \x20   import spin:postgres/postgres@4.0.0;\n\
         }\n\
         world redis-handler {\n\
         \x20   export fermyon:spin/inbound-redis;\n\
         }\n",
    )
    .expect("write host.wit");
    let bindings = format!(
        r#"wasmtime::component::bindgen!({{
    path: {path:?},
    world: "platform:host/host",
    imports: {{ default: async | trappable }},
    with: {{
        "fermyon:spin/redis.connection": crate::redis_host::RedisConnection,
        "fermyon:spin/key-value.store": crate::key_value_host::KvStore,
        "spin:postgres/postgres.connection": crate::pg::PgConnection,
    }},
}});
"#,
        path = wit.display().to_string()
    );
    std::fs::write(out.join("bindings.rs"), bindings).expect("write bindings.rs");
    let redis_bindings = format!(
        r#"wasmtime::component::bindgen!({{
    path: {path:?},
    world: "platform:host/redis-handler",
    exports: {{ default: async }},
}});
"#,
        path = wit.display().to_string()
    );
    std::fs::write(out.join("redis_bindings.rs"), redis_bindings).expect("write redis_bindings.rs");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../../Cargo.lock");
}

/// The spin-sdk package directory, from `cargo metadata` of this workspace.
fn spin_sdk_dir() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let output = Command::new(cargo)
        // Filtered to the components' target: only what their build needs.
        .args([
            "metadata",
            "--format-version",
            "1",
            "--filter-platform",
            "wasm32-wasip2",
        ])
        .current_dir(manifest_dir.join("../.."))
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&output.stdout).expect("metadata JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let manifest = packages
        .iter()
        .find(|p| p["name"] == SPIN_SDK)
        .and_then(|p| p["manifest_path"].as_str())
        .expect("spin-sdk is a dependency of the components");
    Path::new(manifest)
        .parent()
        .expect("package dir")
        .to_path_buf()
}

fn link_dir(from: &Path, to: &Path) {
    #[cfg(unix)]
    std::os::unix::fs::symlink(from, to).expect("symlink spin-sdk wit/deps");
    #[cfg(not(unix))]
    compile_error!("the host build links spin-sdk's WIT with a symlink (unix only)");
}
