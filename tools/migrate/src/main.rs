//! `migrate --database-url postgres://…` (or `DATABASE_URL`).

use clap::Parser;

#[derive(Parser)]
#[command(about = "Apply the platform's database migrations (idempotent)")]
struct Args {
    /// Postgres connection string. Never logged: it may hold a password.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let applied = migrate::migrate(&args.database_url).await?;
    println!("migrations applied: {applied}");
    Ok(())
}
