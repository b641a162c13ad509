//! Every sslmode against a real Postgres that accepts TCP over TLS only,
//! with a self-signed certificate for the name `localhost`.

use test_support::PostgresServer;

async fn encrypted(url: &str) -> anyhow::Result<bool> {
    let (client, _driver) = pg_connect::connect(url).await?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

#[tokio::test]
async fn sslmodes_follow_libpq_against_a_tls_only_server() {
    let server = PostgresServer::start_with_tls().unwrap();
    let ca = server.ca_file();
    let ca = ca.display();
    let by_ip = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port);
    // The name the certificate carries, reached at the server's address.
    let by_name = format!(
        "postgres://postgres@localhost:{}/postgres?hostaddr=127.0.0.1",
        server.port
    );

    assert!(
        encrypted(&format!("{by_ip}?sslmode=disable"))
            .await
            .is_err(),
        "the server refuses TCP without TLS"
    );
    assert!(encrypted(&format!("{by_ip}?sslmode=require"))
        .await
        .unwrap());
    assert!(
        encrypted(&by_ip).await.unwrap(),
        "prefer takes TLS when offered"
    );
    assert!(
        encrypted(&format!("{by_name}&sslmode=verify-full&sslrootcert={ca}"))
            .await
            .unwrap()
    );
    // The certificate does not name 127.0.0.1: verify-full refuses, verify-ca
    // (chain only) accepts.
    assert!(
        encrypted(&format!("{by_ip}?sslmode=verify-full&sslrootcert={ca}"))
            .await
            .is_err()
    );
    assert!(
        encrypted(&format!("{by_ip}?sslmode=verify-ca&sslrootcert={ca}"))
            .await
            .unwrap()
    );
    // A CA that did not sign it: refused.
    let other = "/etc/ssl/certs/ca-certificates.crt";
    if std::path::Path::new(other).exists() {
        assert!(encrypted(&format!(
            "{by_name}&sslmode=verify-full&sslrootcert={other}"
        ))
        .await
        .is_err());
    }
}
