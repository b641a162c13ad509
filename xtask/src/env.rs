//! Where things are, and the Spin variables `up` passes on.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

pub const DEFAULT_DATABASE_URL: &str =
    "postgres://postgres@127.0.0.1:5432/platform?sslmode=disable";
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

pub fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    Ok(manifest_dir
        .parent()
        .context("xtask has a parent")?
        .to_path_buf())
}

/// Cargo's target directory (`CARGO_TARGET_DIR`, else `target/`).
pub fn target_dir() -> anyhow::Result<PathBuf> {
    let root = workspace_root()?;
    Ok(match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    })
}

pub fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_string())
}

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_string())
}

/// The server the tests create their throw-away databases on.
pub fn admin_database_url() -> String {
    database_url_named("postgres").unwrap_or_else(|_| database_url())
}

/// `DATABASE_URL` with another database name.
pub fn database_url_named(name: &str) -> anyhow::Result<String> {
    let mut u = url::Url::parse(&database_url()).context("DATABASE_URL is not a URL")?;
    u.set_path(&format!("/{name}"));
    Ok(u.to_string())
}

/// `SPIN_VARIABLE_*` for `up`: addresses from DATABASE_URL / REDIS_URL (with
/// the host and port `allowed_outbound_hosts` needs), and a local JWT secret.
pub fn spin_variables() -> anyhow::Result<HashMap<String, String>> {
    spin_variables_for(&database_url(), &redis_url())
}

/// Writes the runtime config for an app whose Redis is `redis_url` into the
/// target directory and returns its path: the `cache` key-value store must
/// be that Redis (runtime-config.toml says why), so it is never left at the
/// checked-in default when REDIS_URL points elsewhere.
pub fn runtime_config(name: &str, redis_url: &str) -> anyhow::Result<PathBuf> {
    let dir = target_dir()?;
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("runtime-config-{name}.toml"));
    let text = format!("[key_value_store.cache]\ntype = \"redis\"\nurl = {redis_url:?}\n");
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

pub fn spin_variables_for(
    database_url: &str,
    redis_url: &str,
) -> anyhow::Result<HashMap<String, String>> {
    let mut vars = HashMap::new();
    for (name, url, default_port) in [("DATABASE", database_url, 5432), ("REDIS", redis_url, 6379)]
    {
        let url = url.to_string();
        let parsed = url::Url::parse(&url).with_context(|| format!("{name}_URL is not a URL"))?;
        let host = parsed.host_str().context("URL without a host")?.to_string();
        let port = parsed.port().unwrap_or(default_port);
        vars.insert(format!("SPIN_VARIABLE_{name}_URL"), url);
        vars.insert(format!("SPIN_VARIABLE_{name}_HOST"), host);
        vars.insert(format!("SPIN_VARIABLE_{name}_PORT"), port.to_string());
    }
    vars.insert("SPIN_VARIABLE_JWT_SECRET".into(), jwt_secret()?);
    vars.insert(
        "SPIN_VARIABLE_MAIL_LINK_SECRET".into(),
        dev_secret("SPIN_VARIABLE_MAIL_LINK_SECRET", "dev-mail-link-secret", 32)?,
    );
    Ok(vars)
}

/// `SPIN_VARIABLE_JWT_SECRET`, or a random secret kept in `.spin/` for this checkout.
pub fn jwt_secret() -> anyhow::Result<String> {
    dev_secret("SPIN_VARIABLE_JWT_SECRET", "dev-jwt-secret", 32)
}

/// `SPIN_VARIABLE_MIDTRANS_SERVER_KEY`, or a random key kept in `.spin/`
/// for this checkout (the local Midtrans sandbox and the app share it).
pub fn midtrans_server_key() -> anyhow::Result<String> {
    dev_secret(
        "SPIN_VARIABLE_MIDTRANS_SERVER_KEY",
        "midtrans-dev-server-key",
        16,
    )
}

/// `SPIN_VARIABLE_RESEND_API_KEY`, or a random key kept in `.spin/` for
/// this checkout (the local mail sink and the app share it).
pub fn resend_api_key() -> anyhow::Result<String> {
    dev_secret("SPIN_VARIABLE_RESEND_API_KEY", "resend-dev-api-key", 16)
}

/// The variable `var` when set, else `.spin/<file>`: made once of `bytes`
/// random bytes (hex), then reused.
fn dev_secret(var: &str, file: &str, bytes: usize) -> anyhow::Result<String> {
    if let Ok(s) = std::env::var(var) {
        return Ok(s);
    }
    let path = workspace_root()?.join(".spin").join(file);
    if let Ok(s) = std::fs::read_to_string(&path) {
        return Ok(s.trim().to_string());
    }
    let mut random = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut random))
        .context("reading /dev/urandom")?;
    let secret: String = random.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(path.parent().context("parent")?)?;
    std::fs::write(&path, &secret)?;
    Ok(secret)
}

pub fn spin_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("spin"))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// Spin 4.0.0–4.0.2 hang on Postgres queries that return no rows
/// (spinframework/spin#3671, fixed by #3673).
pub fn check_spin_version(spin: &Path) -> anyhow::Result<()> {
    let out = Command::new(spin).arg("--version").output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    for bad in ["4.0.0", "4.0.1", "4.0.2"] {
        if text.split_whitespace().any(|w| w == bad) {
            bail!(
                "{} hangs on Postgres queries that return zero rows (spin#3671); \
                 use Spin 3.6.x or a release with spin#3673",
                text.trim()
            );
        }
    }
    Ok(())
}
