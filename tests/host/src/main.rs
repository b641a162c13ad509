//! `platform-host up`: run spin.toml like `spin up` would.

use std::path::PathBuf;

use clap::Parser;
use platform_host::stdio::LogSettings;
use platform_host::{App, AppOptions, RuntimeConfig};

#[derive(Parser)]
#[command(
    about = "Run a Spin application on the project's wasmtime host (a stand-in for `spin up`)"
)]
struct Args {
    /// The application manifest.
    #[arg(long, short = 'f', default_value = "spin.toml")]
    from: PathBuf,
    /// Address to listen on (Spin's default and variable).
    #[arg(long, env = "SPIN_HTTP_LISTEN_ADDR", default_value = "127.0.0.1:3000")]
    listen: String,
    /// Runtime configuration (key-value stores), like `spin up
    /// --runtime-config-file`.
    #[arg(long = "runtime-config-file")]
    runtime_config_file: Option<PathBuf>,
    /// Run only these components' triggers, like `spin up -c`.
    #[arg(long = "component-id", short = 'c')]
    components: Vec<String>,
    /// Keep the host's counters (instances, statements, connections…) in
    /// this JSON file, rewritten every 200 ms; `cargo xtask bench` reads it.
    #[arg(long)]
    stats_file: Option<PathBuf>,
    /// Instead of serving: instantiate each HTTP component this many times
    /// and print the p50/p99 instantiation time as JSON.
    #[arg(long)]
    measure_instantiation: Option<usize>,
    /// Do not check released Postgres connections for an open transaction
    /// (the check costs a statement per connection; Spin does not make it).
    #[arg(long)]
    skip_transaction_check: bool,
    /// Component stdout/stderr files go here (`spin up --log-dir`); the
    /// default is `.spin/logs` beside the manifest, `""` writes no files.
    #[arg(long = "log-dir", short = 'L', env = "SPIN_LOG_DIR")]
    log_dir: Option<PathBuf>,
    /// Do not echo component output to the terminal (`spin up --quiet`).
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let log_dir = match args.log_dir {
        Some(dir) if dir.as_os_str().is_empty() => None,
        Some(dir) => Some(dir),
        None => Some(
            args.from
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .join(".spin/logs"),
        ),
    };
    let app = App::load(AppOptions {
        logs: LogSettings {
            dir: log_dir,
            echo: !args.quiet,
        },
        manifest: args.from,
        env: Default::default(),
        use_process_env: true,
        components: args.components,
        check_transactions: !args.skip_transaction_check,
        runtime_config: match &args.runtime_config_file {
            Some(path) => RuntimeConfig::load(path)?,
            None => RuntimeConfig::default(),
        },
    })?;
    if let Some(n) = args.measure_instantiation {
        for (id, mut times) in app.measure_instantiation(n.max(1)).await? {
            times.sort();
            let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
            println!(
                "{}",
                serde_json::json!({"component": id, "n": times.len(), "p50_us": pct(0.5), "p99_us": pct(0.99)})
            );
        }
        return Ok(());
    }
    if let Some(path) = args.stats_file {
        let services = app.services();
        tokio::spawn(async move {
            loop {
                let json = serde_json::to_vec(&services.stats.snapshot()).unwrap_or_default();
                let tmp = path.with_extension("tmp");
                if std::fs::write(&tmp, json).is_ok() {
                    let _ = std::fs::rename(&tmp, &path);
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        });
    }
    let listener = if app.has_http() {
        let listener = tokio::net::TcpListener::bind(&args.listen).await?;
        tracing::info!("Serving http://{}", listener.local_addr()?);
        Some(listener)
    } else {
        None
    };
    tokio::select! {
        result = app.run(listener) => {
            // A trigger ended: like `spin up`, stop everything and say why.
            result?;
            anyhow::bail!("a trigger exited unexpectedly")
        }
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
