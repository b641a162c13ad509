//! The schema in `migrations/`, embedded and applied with refinery.

use anyhow::Context;

mod embedded {
    refinery::embed_migrations!("../../migrations");
}

/// Applies every pending migration; returns how many were applied.
pub async fn migrate(database_url: &str) -> anyhow::Result<usize> {
    let (mut client, driver) = pg_connect::connect(database_url).await?;
    let report = embedded::migrations::runner()
        .set_grouped(true)
        .run_async(&mut client)
        .await?;
    drop(client);
    let _ = driver.await;
    Ok(report.applied_migrations().len())
}

/// Creates the URL's database (connecting to `postgres` on the same server)
/// unless it exists. Returns whether it was created.
pub async fn create_database(database_url: &str) -> anyhow::Result<bool> {
    let target = pg_connect::parse(database_url)?;
    let name = target
        .config
        .get_dbname()
        .context("the URL names no database")?
        .to_string();
    let mut admin = target.config.clone();
    admin.dbname("postgres");
    let (client, connection) = admin.connect(pg_connect::tls(&target.verify)?).await?;
    let driver = tokio::spawn(connection);
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await?
        .is_some();
    if !exists {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        client
            .batch_execute(&format!("CREATE DATABASE {quoted}"))
            .await?;
    }
    drop(client);
    let _ = driver.await;
    Ok(!exists)
}
