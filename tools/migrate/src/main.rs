//! `migrate --database-url postgres://…` (or `DATABASE_URL`).

use clap::Parser;

#[derive(Parser)]
#[command(about = "Apply the platform's database migrations (idempotent)")]
struct Args {
    /// Postgres connection string. Never printed: it may hold a password.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Create the database first when it does not exist.
    #[arg(long)]
    create_database: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.create_database && migrate::create_database(&args.database_url).await? {
        println!("database created");
    }
    let applied = migrate::migrate(&args.database_url).await?;
    println!("migrations applied: {applied}");
    Ok(())
}
