use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use midtrans_sandbox::{Config, Sandbox};

/// A local Midtrans: Snap, the Core API (status, expire, refund) and a
/// payment page whose buttons send signed notifications to the shop.
#[derive(Parser)]
#[command(name = "midtrans-sandbox")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:3900")]
    listen: SocketAddr,
    /// The server key the app uses; notifications are signed with it.
    #[arg(long, env = "MIDTRANS_SERVER_KEY", hide_env_values = true)]
    server_key: String,
    /// Where notifications are POSTed (a transaction may override it).
    #[arg(long, default_value = "http://127.0.0.1:3000/payment/webhook")]
    notification_url: String,
    /// The base URL of payment links, when browsers reach the sandbox elsewhere.
    #[arg(long)]
    public_base: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = Config {
        server_key: args.server_key,
        notification_url: args.notification_url,
        listen: args.listen,
        public_base: args.public_base,
    };
    let sandbox = match Sandbox::start(config).await {
        Ok(sandbox) => sandbox,
        Err(e) => {
            eprintln!("midtrans-sandbox: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    println!(
        "Midtrans sandbox on {} (payment pages, Snap and Core API)",
        sandbox.base
    );
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
