//! `cargo xtask up`: the platform as separate processes, as it runs on Spin,
//! supervised until Ctrl-C (or SIGTERM / SIGHUP), which stops them all:
//!
//! - `app`: the HTTP components (every `[[trigger.http]]` of spin.toml);
//! - `workers`: the Redis-trigger components (every `[[trigger.redis]]`). A
//!   Redis disconnect ends the process that holds a Redis trigger, so they
//!   run apart and are restarted, a second later, whenever they exit;
//! - `relay`: re-publishes unacknowledged events to Redis, and relays the
//!   outbox to Kafka when `KAFKA_BROKERS` is set (else it runs with `off`);
//! - `midtrans-sandbox`: a local Midtrans the payments talk to, unless
//!   `--no-midtrans-sandbox` or a Midtrans base URL is set;
//! - `fake-oauth`: a local Google, GitHub and Facebook for the storefront's
//!   "Sign in with …", unless `--no-fake-oauth` or a client id is set;
//! - `mail-sink`: a local Resend that keeps every mail the shop sends,
//!   unless `--no-mail-sink` or a Resend base URL is set;
//! - `mail`: the mail worker's Redis triggers, apart from the saga's (a slow
//!   mail API must not hold up the saga), restarted like the workers.
//!
//! Any process but the workers and the mail worker exiting ends `up` with its exit status.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Deserialize;

use crate::runtime::{self, Runtime};
use crate::{cargo, display, env, run};

pub struct Options {
    /// `None`: Spin when on PATH, else the host.
    pub runtime: Option<Runtime>,
    pub midtrans_sandbox: bool,
    pub midtrans_port: u16,
    pub fake_oauth: bool,
    pub oauth_port: u16,
    pub mail_sink: bool,
    pub mail_port: u16,
}

const SNAP_BASE_URL: &str = "SPIN_VARIABLE_MIDTRANS_SNAP_BASE_URL";
const API_BASE_URL: &str = "SPIN_VARIABLE_MIDTRANS_API_BASE_URL";

/// Builds, migrates and runs the platform. `None` when stopped by a signal,
/// else the exit status of the process whose exit ended it.
pub fn up(opts: Options) -> anyhow::Result<Option<ExitStatus>> {
    let spin = spin_runtime(opts.runtime)?;
    let triggers = Triggers::read(Path::new("spin.toml"))?;
    if triggers.http.is_empty() {
        bail!("spin.toml has no [[trigger.http]]");
    }
    crate::build_components()?;
    // Every native binary in one cargo invocation.
    let mut build = cargo();
    build.args([
        "build",
        "-p",
        "migrate",
        "-p",
        "relay",
        "-p",
        "midtrans-sandbox",
        "-p",
        "fake-oauth",
        "-p",
        "mail-sink",
    ]);
    if spin.is_none() {
        build.args(["-p", "platform-host"]);
    }
    run(&mut build)?;
    let bin = env::target_dir()?.join("debug");
    run(Command::new(bin.join("migrate"))
        .arg("--create-database")
        .env("DATABASE_URL", env::database_url()))?;

    let listen =
        std::env::var("SPIN_HTTP_LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_string());
    let mut vars = env::spin_variables()?;
    public_urls(&listen, &mut vars);
    let runtime_config = env::runtime_config("up", &env::redis_url())?;
    let mut supervisor = Supervisor::new()?;
    if opts.fake_oauth {
        if let Some(fake) = fake_oauth(&bin, opts.oauth_port, &mut vars) {
            supervisor.spawn("fake-oauth", fake, false)?;
        }
    }
    if opts.midtrans_sandbox {
        if let Some(sandbox) = midtrans_sandbox(&bin, opts.midtrans_port, &listen, &mut vars)? {
            supervisor.spawn("midtrans-sandbox", sandbox, false)?;
        }
    }
    if opts.mail_sink {
        if let Some(sink) = mail_sink(&bin, opts.mail_port, &mut vars)? {
            supervisor.spawn("mail-sink", sink, false)?;
        }
    }
    supervisor.spawn("relay", relay(&bin), false)?;
    let app = triggers_process(
        spin.as_deref(),
        &bin,
        &triggers.http,
        &vars,
        &runtime_config,
    );
    supervisor.spawn("app", app, false)?;
    // The mail worker runs apart from the saga's workers, as in its own
    // SpinApp: Spin awaits every component subscribed to a channel together,
    // so a slow mail API would hold up the saga's next event.
    let (mail, saga): (Vec<String>, Vec<String>) = triggers
        .redis
        .iter()
        .cloned()
        .partition(|id| OWN_PROCESS.contains(&id.as_str()));
    for (name, components) in [("workers", saga), ("mail", mail)] {
        if !components.is_empty() {
            let process =
                triggers_process(spin.as_deref(), &bin, &components, &vars, &runtime_config);
            supervisor.spawn(name, process, true)?;
        }
    }
    supervisor.run()
}

/// Redis-trigger components that run in a Spin process of their own.
const OWN_PROCESS: &[&str] = &["mail-worker"];

/// `Some(spin)` to run the components on real Spin, `None` on platform-host.
fn spin_runtime(choice: Option<Runtime>) -> anyhow::Result<Option<PathBuf>> {
    match Runtime::or_detected(choice, env::spin_binary().is_some()) {
        Runtime::Spin => runtime::spin_binary().map(Some),
        Runtime::Host => Ok(None),
    }
}

/// The components spin.toml triggers, by trigger type, each id once.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Triggers {
    #[serde(default, deserialize_with = "component_ids")]
    pub(crate) http: Vec<String>,
    #[serde(default, deserialize_with = "component_ids")]
    pub(crate) redis: Vec<String>,
}

impl Triggers {
    pub(crate) fn read(manifest: &Path) -> anyhow::Result<Triggers> {
        let text = std::fs::read_to_string(manifest)
            .with_context(|| format!("reading {}", manifest.display()))?;
        Triggers::parse(&text).with_context(|| format!("reading {}", manifest.display()))
    }

    fn parse(manifest: &str) -> anyhow::Result<Triggers> {
        #[derive(Deserialize)]
        struct Manifest {
            #[serde(default)]
            trigger: Triggers,
        }
        Ok(toml::from_str::<Manifest>(manifest)?.trigger)
    }
}

fn component_ids<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    struct Trigger {
        component: String,
    }
    let mut ids: Vec<String> = Vec::new();
    for t in Vec::<Trigger>::deserialize(d)? {
        if !ids.contains(&t.component) {
            ids.push(t.component);
        }
    }
    Ok(ids)
}

/// `spin up` / `platform-host` running only `components` (`-c`).
fn triggers_process(
    spin: Option<&Path>,
    bin: &Path,
    components: &[String],
    vars: &HashMap<String, String>,
    runtime_config: &Path,
) -> Command {
    let mut cmd = match spin {
        Some(spin) => {
            let mut cmd = Command::new(spin);
            cmd.arg("up");
            cmd
        }
        None => {
            let mut cmd = Command::new(bin.join("platform-host"));
            cmd.args(["--from", "spin.toml"]);
            cmd
        }
    };
    cmd.arg("--runtime-config-file").arg(runtime_config);
    for id in components {
        cmd.args(["-c", id]);
    }
    cmd.envs(vars);
    cmd
}

/// The relay, with Kafka only when `KAFKA_BROKERS` is set: without, it
/// re-publishes unacknowledged events to Redis and nothing else.
fn relay(bin: &Path) -> Command {
    let brokers = std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "off".to_string());
    let mut cmd = Command::new(bin.join("relay"));
    cmd.env("DATABASE_URL", env::database_url())
        .env("REDIS_URL", env::redis_url())
        .env("KAFKA_BROKERS", brokers);
    cmd
}

/// The sandbox's command, with the app's Midtrans variables pointed at it;
/// `None` when a Midtrans base URL is set (the user's Midtrans is used).
fn midtrans_sandbox(
    bin: &Path,
    port: u16,
    app_listen: &str,
    vars: &mut HashMap<String, String>,
) -> anyhow::Result<Option<Command>> {
    if let Some(set) = [SNAP_BASE_URL, API_BASE_URL]
        .into_iter()
        .find(|v| std::env::var_os(v).is_some())
    {
        eprintln!(
            "xtask: {set} is set, so no Midtrans sandbox: payments go to the Midtrans you set"
        );
        return Ok(None);
    }
    let key = env::midtrans_server_key()?;
    let base = format!("http://127.0.0.1:{port}");
    let notification_url = format!("{}/payment/webhook", local_url(app_listen));
    let mut cmd = Command::new(bin.join("midtrans-sandbox"));
    cmd.args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--notification-url", &notification_url])
        // The key in the environment: never on a command line (`ps`, logs).
        .env("MIDTRANS_SERVER_KEY", &key);
    vars.insert("SPIN_VARIABLE_MIDTRANS_SERVER_KEY".into(), key);
    vars.insert(SNAP_BASE_URL.into(), base.clone());
    vars.insert(API_BASE_URL.into(), base.clone());
    println!("Midtrans sandbox: {base} (pay on its payment pages; notifications go to {notification_url})");
    Ok(Some(cmd))
}

const RESEND_API_BASE_URL: &str = "SPIN_VARIABLE_RESEND_API_BASE_URL";
const MAIL_FROM: &str = "SPIN_VARIABLE_MAIL_FROM";
/// The sender of local mail: the sink accepts any well-formed address.
const DEV_MAIL_FROM: &str = "Shop <shop@mail.dev.test>";

/// The sink's command, with the app's Resend variables pointed at it; `None`
/// when a Resend base URL is set (the user's provider is used).
fn mail_sink(
    bin: &Path,
    port: u16,
    vars: &mut HashMap<String, String>,
) -> anyhow::Result<Option<Command>> {
    if std::env::var_os(RESEND_API_BASE_URL).is_some() {
        eprintln!(
            "xtask: {RESEND_API_BASE_URL} is set, so no mail sink: mail goes to the provider you set"
        );
        return Ok(None);
    }
    let key = env::resend_api_key()?;
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = Command::new(bin.join("mail-sink"));
    cmd.args(["--listen", "127.0.0.1", "--port", &port.to_string()])
        // The key in the environment: never on a command line (`ps`, logs).
        .env("MAIL_SINK_API_KEY", &key);
    vars.insert("SPIN_VARIABLE_RESEND_API_KEY".into(), key);
    vars.insert(RESEND_API_BASE_URL.into(), base.clone());
    if std::env::var_os(MAIL_FROM).is_none() {
        vars.insert(MAIL_FROM.into(), DEV_MAIL_FROM.into());
    }
    println!("Mail sink: {base} (every mail the shop sends, with its links)");
    Ok(Some(cmd))
}

const STOREFRONT_URL: &str = "SPIN_VARIABLE_STOREFRONT_URL";
const OAUTH_REDIRECT_BASE_URL: &str = "SPIN_VARIABLE_OAUTH_REDIRECT_BASE_URL";
const PROVIDERS: [&str; 3] = ["GOOGLE", "GITHUB", "FACEBOOK"];

/// Where the browser finds the storefront, and so where Snap and the OAuth
/// providers send it back, unless set: this machine's listen address.
fn public_urls(listen: &str, vars: &mut HashMap<String, String>) {
    let storefront = local_url(listen);
    if std::env::var_os(OAUTH_REDIRECT_BASE_URL).is_none() {
        vars.insert(OAUTH_REDIRECT_BASE_URL.into(), format!("{storefront}/app"));
    }
    if std::env::var_os(STOREFRONT_URL).is_none() {
        vars.insert(STOREFRONT_URL.into(), storefront);
    }
}

/// The fake provider's command, with the app's OAuth variables pointed at
/// it; `None` when any client id is set (the user's providers are used).
fn fake_oauth(bin: &Path, port: u16, vars: &mut HashMap<String, String>) -> Option<Command> {
    if let Some(set) = PROVIDERS
        .iter()
        .map(|p| format!("SPIN_VARIABLE_{p}_CLIENT_ID"))
        .find(|v| std::env::var_os(v).is_some())
    {
        eprintln!(
            "xtask: {set} is set, so no fake OAuth provider: sign-in goes to the providers you set"
        );
        return None;
    }
    let base = format!("http://127.0.0.1:{port}");
    let redirect_base = vars
        .get(OAUTH_REDIRECT_BASE_URL)
        .cloned()
        .or_else(|| std::env::var(OAUTH_REDIRECT_BASE_URL).ok())
        .unwrap_or_default();
    for p in PROVIDERS {
        let lower = p.to_ascii_lowercase();
        for (name, value) in [
            ("CLIENT_ID", format!("dev-{lower}-client")),
            ("CLIENT_SECRET", format!("dev-{lower}-secret")),
            ("AUTH_BASE_URL", base.clone()),
            ("API_BASE_URL", base.clone()),
        ] {
            vars.insert(format!("SPIN_VARIABLE_{p}_{name}"), value);
        }
    }
    let mut cmd = Command::new(bin.join("fake-oauth"));
    cmd.args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--redirect-base", &redirect_base]);
    Some(cmd)
}

/// `http://` + a listen address, as this machine reaches it (an unspecified
/// address such as 0.0.0.0 becomes the loopback address).
fn local_url(listen: &str) -> String {
    match listen.parse::<SocketAddr>() {
        Ok(mut addr) => {
            if addr.ip().is_unspecified() {
                addr.set_ip(match addr.ip() {
                    IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                    IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
                });
            }
            format!("http://{addr}")
        }
        Err(_) => format!("http://{listen}"),
    }
}

/// Between the first sign of a process exiting and acting on it: the
/// terminal's Ctrl-C reaches every process of the group, and xtask must see
/// it before taking their exits for failures.
const SIGNAL_GRACE: Duration = Duration::from_millis(500);
const RESTART_DELAY: Duration = Duration::from_secs(1);
/// How long processes get to stop on SIGINT before they are killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// The running processes. Dropping it stops them all.
struct Supervisor {
    /// A message per SIGINT, SIGTERM or SIGHUP.
    signals: Receiver<()>,
    processes: Vec<Process>,
}

struct Process {
    name: &'static str,
    command: Command,
    child: Child,
    /// Restarted when it exits, rather than ending `up`.
    restart: bool,
}

impl Supervisor {
    fn new() -> anyhow::Result<Supervisor> {
        let (tx, signals) = mpsc::channel();
        ctrlc::set_handler(move || {
            let _ = tx.send(());
        })
        .context("handling Ctrl-C")?;
        Ok(Supervisor {
            signals,
            processes: Vec::new(),
        })
    }

    fn spawn(
        &mut self,
        name: &'static str,
        mut command: Command,
        restart: bool,
    ) -> anyhow::Result<()> {
        eprintln!("$ {}", display(&command));
        // Its own process group: `spin up` runs its trigger as a child
        // process, and stopping the group stops both (the terminal's Ctrl-C
        // reaches only xtask, which passes it on below).
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .with_context(|| format!("starting {name}: {}", display(&command)))?;
        self.processes.push(Process {
            name,
            command,
            child,
            restart,
        });
        Ok(())
    }

    /// Until a signal (`None`) or the exit of a process that is not
    /// restarted (its status).
    fn run(mut self) -> anyhow::Result<Option<ExitStatus>> {
        loop {
            if self.signalled(Duration::from_millis(200)) {
                return Ok(None);
            }
            for i in 0..self.processes.len() {
                let Some(status) = self.processes[i].child.try_wait()? else {
                    continue;
                };
                if self.signalled(SIGNAL_GRACE) {
                    return Ok(None);
                }
                let p = &self.processes[i];
                if !p.restart {
                    eprintln!("xtask: {} exited ({status}); stopping everything", p.name);
                    return Ok(Some(status));
                }
                eprintln!("xtask: {} exited ({status}); restarting it in 1 s", p.name);
                if self.signalled(RESTART_DELAY) {
                    return Ok(None);
                }
                let p = &mut self.processes[i];
                eprintln!("$ {}", display(&p.command));
                p.child = p
                    .command
                    .spawn()
                    .with_context(|| format!("restarting {}", p.name))?;
            }
        }
    }

    /// Waits up to `wait`; true if a signal came (or comes meanwhile).
    fn signalled(&self, wait: Duration) -> bool {
        !matches!(
            self.signals.recv_timeout(wait),
            Err(RecvTimeoutError::Timeout)
        )
    }
}

impl Drop for Supervisor {
    /// SIGINT to every process still running — each stops cleanly on it, as
    /// on Ctrl-C — then SIGKILL to any still running after [`STOP_TIMEOUT`].
    fn drop(&mut self) {
        let mut running: Vec<&mut Process> = self
            .processes
            .iter_mut()
            .filter_map(|p| matches!(p.child.try_wait(), Ok(None)).then_some(p))
            .collect();
        // Not reaped yet, so the pid is still this child's.
        for p in &running {
            signal_group(p, "-INT");
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        for p in &mut running {
            while matches!(p.child.try_wait(), Ok(None)) {
                if Instant::now() >= deadline {
                    eprintln!("xtask: {} did not stop on SIGINT; killing it", p.name);
                    signal_group(p, "-KILL");
                    let _ = p.child.kill();
                    let _ = p.child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// `signal` to `p`'s process group (its pid: it leads the group).
fn signal_group(p: &Process, signal: &str) {
    let group = format!("-{}", p.child.id());
    let _ = Command::new("kill").args([signal, "--", &group]).status();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_are_read_by_type_each_component_once() {
        let t = Triggers::parse(
            r#"
            spin_manifest_version = 2
            [application.trigger.redis]
            address = "redis://127.0.0.1"
            [[trigger.http]]
            route = "/..."
            component = "gateway"
            [[trigger.http]]
            route = "/login"
            component = "accounts-api"
            [[trigger.http]]
            route = "/me"
            component = "accounts-api"
            [[trigger.redis]]
            channel = "order.created"
            component = "worker"
            [component.gateway]
            source = "gateway.wasm"
            "#,
        )
        .unwrap();
        assert_eq!(t.http, ["gateway", "accounts-api"]);
        assert_eq!(t.redis, ["worker"]);
        let none = Triggers::parse("[[trigger.http]]\ncomponent = \"a\"\n").unwrap();
        assert!(none.redis.is_empty());
    }

    #[test]
    fn the_sandbox_notifies_the_app_where_it_listens() {
        assert_eq!(local_url("127.0.0.1:3000"), "http://127.0.0.1:3000");
        assert_eq!(local_url("0.0.0.0:8080"), "http://127.0.0.1:8080");
        assert_eq!(local_url("[::]:3000"), "http://[::1]:3000");
        assert_eq!(local_url("localhost:3000"), "http://localhost:3000");
    }
}
