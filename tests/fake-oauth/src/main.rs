//! The fake provider as a process, for `cargo xtask up`: sign-in with
//! Google, GitHub and Facebook works on a machine with no account anywhere.
//! Each provider has one registered app (`dev-<provider>-client`) whose
//! redirect URI is `<redirect base>/oauth/<provider>/callback`, and one
//! person always signed in (`shopper@<provider>.dev.test`), so pressing
//! "Sign in with …" returns at once with that person.
//!
//! `fake-oauth --listen 127.0.0.1:3901 --redirect-base http://127.0.0.1:3000/app`

use fake_oauth::{Account, App, FakeOAuth, PROVIDERS};

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let listen = arg(&args, "--listen", "127.0.0.1:3901");
    let redirect_base = arg(&args, "--redirect-base", "http://127.0.0.1:3000/app");
    let addr = listen
        .parse()
        .map_err(|e| std::io::Error::other(format!("--listen {listen}: {e}")))?;
    let fake = FakeOAuth::start_on(addr).await?;
    for p in PROVIDERS {
        fake.register(
            p,
            App {
                client_id: dev_client_id(p),
                client_secret: dev_client_secret(p),
                redirect_uri: format!("{}/oauth/{p}/callback", redirect_base.trim_end_matches('/')),
            },
        );
        fake.sign_in_as(
            p,
            Account {
                subject: format!("dev-{p}-shopper"),
                name: format!("Dev Shopper ({p})"),
                email: Some(format!("shopper@{p}.dev.test")),
                email_verified: true,
            },
        );
    }
    println!(
        "fake OAuth provider: {} (Google, GitHub and Facebook sign in shopper@<provider>.dev.test)",
        fake.base
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// The dev app's client id at `provider` (xtask gives the app the same).
fn dev_client_id(provider: &str) -> String {
    format!("dev-{provider}-client")
}

/// Not a secret: the fake accepts it and nothing else does.
fn dev_client_secret(provider: &str) -> String {
    format!("dev-{provider}-secret")
}
