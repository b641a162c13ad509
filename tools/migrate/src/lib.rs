//! The schema in `migrations/`, embedded and applied with refinery.

use tokio_postgres::NoTls;

mod embedded {
    refinery::embed_migrations!("../../migrations");
}

/// Applies every pending migration; returns how many were applied.
pub async fn migrate(database_url: &str) -> anyhow::Result<usize> {
    let (mut client, connection) = tokio_postgres::connect(database_url, NoTls).await?;
    let driver = tokio::spawn(connection);
    let report = embedded::migrations::runner()
        .set_grouped(true)
        .run_async(&mut client)
        .await?;
    drop(client);
    let _ = driver.await;
    Ok(report.applied_migrations().len())
}
