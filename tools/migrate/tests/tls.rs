//! `migrate` against a Postgres that accepts TLS only (the Kubernetes Job
//! reaches managed databases with `sslmode=require` or `verify-full`).

use test_support::PostgresServer;

#[tokio::test]
async fn migrates_over_tls() {
    let server = PostgresServer::start_with_tls().unwrap();
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/platform?sslmode=require",
        server.port
    );
    assert!(migrate::create_database(&url).await.unwrap());
    let applied = migrate::migrate(&url).await.unwrap();
    assert!(applied >= 6, "{applied} migrations");
    assert_eq!(migrate::migrate(&url).await.unwrap(), 0, "idempotent");
}
