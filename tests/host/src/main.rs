//! `platform-host up`: run spin.toml like `spin up` would.

use std::path::PathBuf;

use clap::Parser;
use platform_host::{App, AppOptions};

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
    /// Run only these components' triggers, like `spin up -c`.
    #[arg(long = "component-id", short = 'c')]
    components: Vec<String>,
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
    let app = App::load(AppOptions {
        manifest: args.from,
        env: Default::default(),
        use_process_env: true,
        components: args.components,
    })?;
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
