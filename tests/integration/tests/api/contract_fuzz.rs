//! The OpenAPI document against the server, as a generated client would
//! meet it (issue 25): Schemathesis, pinned in openapi/fuzz-requirements.txt
//! and installed by `cargo xtask test` into a venv named by FUZZ_TOOLS_BIN,
//! sends schema-valid and schema-invalid requests to every operation of the
//! whole platform (the app, its workers and the Midtrans sandbox, on the
//! project host) with all its checks, a fixed seed and a bounded budget:
//! valid requests must be accepted, invalid ones refused with a 4xx, every
//! reply must match the document. 0 failures. Without the venv this test
//! fails; it never skips.
//!
//! `cargo xtask fuzz --cases 20000 --seed 7` runs it with a bigger budget
//! (FUZZ_CASES, FUZZ_SEED). What the document says in words and JSON
//! Schema cannot (the page window, merged order lines) is taught to the
//! fuzzer in openapi/fuzz_hooks.py.

use std::path::PathBuf;
use std::process::Command;

use integration::shop::Shop;
use integration::{workspace_root, TestEnv};

/// Requests for the whole run, shared out over the operations.
const DEFAULT_CASES: usize = 1000;
const DEFAULT_SEED: &str = "20261206";

fn tools_bin() -> PathBuf {
    let bin = std::env::var_os("FUZZ_TOOLS_BIN")
        .map(PathBuf::from)
        .expect(
            "FUZZ_TOOLS_BIN names the venv with Schemathesis: run `cargo xtask test` \
         (or `cargo xtask fuzz`), which installs it",
        );
    assert!(
        bin.join("schemathesis").exists(),
        "{} holds no schemathesis",
        bin.display()
    );
    bin
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An administrator who exists (GET /me finds them) and whose address is
/// proven, so every operation can be reached with one bearer token.
async fn admin_token(env: &TestEnv) -> String {
    let id: i64 = env
        .db
        .client()
        .await
        .query_one(
            "INSERT INTO users (full_name, email, role, email_verified_at) \
             VALUES ('Fuzz Admin', 'fuzz-admin@example.com', 'admin', now()) RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    TestEnv::token(id, true)
}

/// A variable name for the whole test (the harness takes `&str` pairs).
fn leak(name: String) -> &'static str {
    Box::leak(name.into_boxed_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_keeps_the_documents_promises() {
    let bin = tools_bin();
    // Limits off: a 429 is allowed, but it would hide what is behind it.
    let off = [
        "list_rate_limit",
        "oauth_rate_limit",
        "login_rate_limit",
        "login_failure_rate_limit",
        "login_account_failure_rate_limit",
        "link_rate_limit",
        "forgot_rate_limit",
        "forgot_email_rate_limit",
        "verify_resend_rate_limit",
        "password_change_rate_limit",
        "register_rate_limit",
        "register_email_rate_limit",
    ];
    let mut vars: Vec<(&str, &str)> = off.iter().map(|name| (*name, "off")).collect();
    // Providers configured, so their routes are reached (a callback's
    // state is never one the app issued: no token endpoint is called; were
    // one called, it is a closed local port, never the internet).
    for provider in ["google", "github", "facebook"] {
        vars.push((leak(format!("{provider}_client_id")), "fuzz-client"));
        vars.push((leak(format!("{provider}_client_secret")), "fuzz-secret"));
        vars.push((
            leak(format!("{provider}_auth_base_url")),
            "http://127.0.0.1:9",
        ));
        vars.push((
            leak(format!("{provider}_api_base_url")),
            "http://127.0.0.1:9",
        ));
    }
    vars.push(("rate_limit", "off"));
    let shop = Shop::start_with(&vars).await;
    let token = admin_token(&shop.env).await;
    shop.env
        .products(&[("Kopi", 10_000, 1_000_000), ("Teh", 5_000, 1_000_000)])
        .await;

    let document = workspace_root().join("openapi/openapi.json");
    let hooks = workspace_root().join("openapi/fuzz_hooks.py");
    let operations =
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(&document).unwrap()).unwrap()
            ["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|ops| ops.as_object().unwrap().keys())
            .filter(|key| ["get", "put", "post", "delete", "patch"].contains(&key.as_str()))
            .count();
    let cases: usize = env_or("FUZZ_CASES", DEFAULT_CASES);
    let per_operation = cases.div_ceil(operations.max(1)).max(1);
    let seed: String = env_or("FUZZ_SEED", DEFAULT_SEED.to_string());
    let report = std::env::temp_dir().join(format!("schemathesis-{}", std::process::id()));
    println!(
        "schemathesis: {operations} operations, {per_operation} cases each per phase, seed {seed}"
    );
    let base = shop.env.base.clone();
    // Its cache (.schemathesis/) and reports go to a scratch directory.
    std::fs::create_dir_all(&report).unwrap();
    let run = tokio::task::spawn_blocking(move || {
        Command::new(bin.join("schemathesis"))
            .current_dir(&report)
            .arg("run")
            .arg(&document)
            .args(["--url", &base])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args(["--checks", "all"])
            .args(["--max-examples", &per_operation.to_string()])
            .args(["--seed", &seed])
            // The token is a throw-away test one: show every request whole.
            .args(["--output-sanitize", "false"])
            .args(["--report", "junit", "--report-dir"])
            .arg(&report)
            .env("NO_COLOR", "1")
            .env("SCHEMATHESIS_HOOKS", &hooks)
            .output()
            .expect("schemathesis runs")
    })
    .await
    .unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    println!("{out}{}", String::from_utf8_lossy(&run.stderr));
    assert!(
        run.status.success(),
        "Schemathesis found requests the server and the document disagree on (above)"
    );
    drop(shop);
}
