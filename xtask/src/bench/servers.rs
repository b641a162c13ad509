//! The servers under load: the app, the floor and the probes on the chosen
//! runtime, and the native baseline. Each is stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use test_support::{free_port, wait_listening, KillOnDrop};

use super::backends::Backends;
use super::results::Counts;
use super::scenarios::Target;
use super::START_TIMEOUT;

/// A server under load: its address and, on the project host, its counters.
pub struct Server {
    pub target: Target,
    pub base: String,
    stats: Option<PathBuf>,
    _process: Process,
}

/// A server process; Spin's is a process group (`spin up` forks `spin
/// trigger http`), so the whole group is stopped.
struct Process {
    child: KillOnDrop,
    /// The child leads its own process group.
    group: bool,
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.group {
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{}", self.child.id())])
                .status();
        }
    }
}

impl Server {
    /// The host's counters so far (project host only).
    pub fn counters(&self) -> Option<Counts> {
        let path = self.stats.as_ref()?;
        // The host rewrites its stats file every 200 ms.
        std::thread::sleep(Duration::from_millis(450));
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }

    /// One request, waited for however long it takes (no load generator).
    pub fn prime(&self, path: &str) -> anyhow::Result<()> {
        use std::io::{Read, Write};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr)?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        if !answer.starts_with("HTTP/1.1 200") {
            bail!("priming {path}: {}", answer.lines().next().unwrap_or(""));
        }
        Ok(())
    }
}

/// The probes' manifest: the bare probe and the composed one, run apart.
const SHAPE: &str = "tests/fixtures/shape/spin.toml";

/// The servers still running.
pub struct Servers(Vec<Server>);

impl Servers {
    /// `spin`: run the components on it, else on the project host.
    pub fn start(
        root: &Path,
        out: &Path,
        spin: Option<&Path>,
        backends: &Backends,
    ) -> anyhow::Result<Servers> {
        let launcher = Launcher {
            spin,
            bin: root.join("target/bench-native"),
            out,
            backends,
        };
        // The HTTP process only, as deployed: the saga's workers are another
        // process (in this one they would take CPU from the measured routes).
        let http = crate::up::Triggers::read(&root.join("spin.toml"))?.http;
        Ok(Servers(vec![
            launcher.app(Target::App, "spin.toml", &http)?,
            launcher.app(Target::Floor, "tests/fixtures/hello/spin.toml", &[])?,
            launcher.app(Target::Probe, SHAPE, &["shape".into()])?,
            launcher.app(Target::Composed, SHAPE, &["shape-composed".into()])?,
            launcher.baseline()?,
        ]))
    }

    pub fn get(&self, target: Target) -> anyhow::Result<&Server> {
        let mut servers = self.0.iter();
        servers
            .find(|s| s.target == target)
            .with_context(|| format!("{} is not running", target.name()))
    }

    pub fn stop(&mut self, target: Target) {
        self.0.retain(|s| s.target != target);
    }
}

struct Launcher<'a> {
    spin: Option<&'a Path>,
    /// The native binaries (`platform-host`, `baseline`).
    bin: PathBuf,
    out: &'a Path,
    backends: &'a Backends,
}

impl Launcher<'_> {
    /// `components` of `manifest` (none: all of them) on Spin or the host.
    fn app(&self, target: Target, manifest: &str, components: &[String]) -> anyhow::Result<Server> {
        use std::os::unix::process::CommandExt;
        let selected: Vec<&str> = components.iter().flat_map(|c| ["-c", c.as_str()]).collect();
        let port = free_port()?;
        let listen = format!("127.0.0.1:{port}");
        let logs = self.out.join(format!("logs-{}", target.name()));
        // Each run's component logs start empty (they are read after a run).
        let _ = std::fs::remove_dir_all(&logs);
        let (mut command, stats) = match self.spin {
            Some(spin) => {
                let mut spin = Command::new(spin);
                spin.args(["up", "-f", manifest, "--listen", &listen, "--quiet"])
                    .args(&selected)
                    .process_group(0);
                (spin, None)
            }
            None => {
                let stats = self.out.join(format!("stats-{}.json", target.name()));
                let mut host = Command::new(self.bin.join("platform-host"));
                host.args(&selected)
                    .args(["--from", manifest, "--listen", &listen])
                    // Component output goes to files as under `spin up
                    // --quiet` (each write still a counted host call).
                    .args(["--skip-transaction-check", "--quiet", "--stats-file"])
                    .arg(&stats)
                    .arg("--log-dir")
                    .arg(logs)
                    .env("RUST_LOG", "warn")
                    .stderr(Stdio::null());
                (host, Some(stats))
            }
        };
        command
            .arg("--runtime-config-file")
            .arg(&self.backends.runtime_config);
        command.envs(&self.backends.variables);
        serve(target, command, port, self.spin.is_some(), stats)
    }

    /// The native baseline, on the same Postgres and Redis.
    fn baseline(&self) -> anyhow::Result<Server> {
        let port = free_port()?;
        let mut command = Command::new(self.bin.join("baseline"));
        command
            .args(["--database-url", &self.backends.db_url])
            .args(["--redis-url", &self.backends.redis_url])
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"));
        serve(Target::Baseline, command, port, false, None)
    }
}

/// Starts `command` and waits for it to listen on `port`. `group`: the
/// child leads a process group of its own.
fn serve(
    target: Target,
    mut command: Command,
    port: u16,
    group: bool,
    stats: Option<PathBuf>,
) -> anyhow::Result<Server> {
    let child = command.stdout(Stdio::null()).spawn()?;
    let process = Process {
        child: KillOnDrop(child),
        group,
    };
    wait_listening(port, target.name(), START_TIMEOUT)?;
    Ok(Server {
        target,
        base: format!("http://127.0.0.1:{port}"),
        stats,
        _process: process,
    })
}
