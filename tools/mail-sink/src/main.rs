use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Parser};
use mail_sink::{Config, Sink};

/// A local mail provider speaking Resend's HTTP API: it keeps every mail
/// (see them at its address) and sends none.
#[derive(Parser)]
#[command(name = "mail-sink")]
#[command(group(ArgGroup::new("key").required(true).args(["api_key", "api_key_file"])))]
struct Args {
    #[arg(long, default_value_t = 3902)]
    port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    listen: IpAddr,
    /// The key callers send as `Authorization: Bearer <key>`.
    #[arg(long, env = "MAIL_SINK_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// A file holding that key (kept off the command line).
    #[arg(long)]
    api_key_file: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let api_key = match (args.api_key, &args.api_key_file) {
        (Some(key), _) => key,
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(key) => key.trim().to_string(),
            Err(e) => {
                eprintln!("mail-sink: cannot read {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        },
        (None, None) => unreachable!("clap requires one"),
    };
    if api_key.trim().is_empty() {
        eprintln!("mail-sink: the API key is empty");
        return ExitCode::FAILURE;
    }
    let listen = SocketAddr::new(args.listen, args.port);
    let config = Config {
        api_key: api_key.trim().to_string(),
        listen,
        announce: true,
    };
    let sink = match Sink::start(config).await {
        Ok(sink) => sink,
        Err(e) => {
            eprintln!("mail-sink: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "Mail sink on {} (Resend's POST /emails; the mails at /)",
        sink.base
    );
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
